package transformer

import (
	"math"
	"testing"
)

// TestActivations checks each nonlinearity against values computed
// independently in float64 (tolerance 1e-7: float32 rounding of the result).
func TestActivations(t *testing.T) {
	cases := []struct {
		name string
		x    float32
		want float64
	}{
		{"silu", 1, 0.7310585786300049},
		{"silu", -2, -0.23840584404423515},
		{"gelu", 1, 0.8413447460685429},
		{"gelu", -0.5, -0.15426876936299347},
		{"gelu_new", 1, 0.8411919906082768},
		{"gelu_pytorch_tanh", -0.5, -0.15428599017873824},
	}
	for _, c := range cases {
		a, err := ParseActivation(c.name)
		if err != nil {
			t.Fatal(err)
		}
		x := []float32{c.x}
		a.apply(x)
		if d := math.Abs(float64(x[0]) - c.want); d > 1e-7 {
			t.Errorf("%s(%g) = %.9g, want %.9g", c.name, c.x, x[0], c.want)
		}
	}
	if _, err := ParseActivation("relu2"); err == nil {
		t.Error("relu2: no error")
	}
}
