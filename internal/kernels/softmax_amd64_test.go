//go:build amd64 && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExpShiftAVX512 checks the vector exp against math.Exp: within 2 ulp
// (the Cephes scheme's bound) over the range softmax uses, exactly 0 below
// the clamp and for -Inf, NaN for NaN.
func TestExpShiftAVX512(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(20, 21))
	const n = 4096
	x := make([]float32, n)
	for i := range x {
		switch i % 8 {
		case 0:
			x[i] = -float32(rng.Float64()) * 87 // whole range
		case 1:
			x[i] = -float32(rng.Float64()) * 0.5 // near 0
		default:
			x[i] = -float32(rng.ExpFloat64()) * 4
		}
	}
	special := map[int]float32{0: 0, 1: -87.3, 2: -87.4, 3: -100, 4: float32(math.Inf(-1)), 6: -1e-30, 7: float32(math.Ln2)}
	for i, v := range special {
		x[i] = v
	}
	in := append([]float32(nil), x...)
	const shift = 0.25
	sum := expShiftAVX512(&x[0], &x[0], n, shift)
	var want float64
	for i, v := range x {
		t0 := float64(in[i] - shift) // the subtraction is float32 in both
		ref := math.Exp(float64(float32(t0)))
		switch {
		case float32(t0) < -87.33654:
			if v != 0 {
				t.Errorf("exp(%v) = %v, want exactly 0 below the clamp", t0, v)
			}
			continue
		}
		want += float64(v)
		ulp := float64(math.Nextafter32(float32(ref), float32(math.Inf(1)))) - float64(float32(ref))
		if math.Abs(float64(v)-ref) > 2*ulp {
			t.Errorf("exp(%v) = %v, want %v (%.2g ulp)", t0, v, ref, math.Abs(float64(v)-ref)/ulp)
		}
	}
	// The returned sum is a float32 sum of the outputs: within n·2⁻²⁴.
	if math.Abs(float64(sum)-want) > n*math.Ldexp(1, -24)*want {
		t.Errorf("sum = %v, want %v", sum, want)
	}

	nan := make([]float32, 16)
	nan[3] = float32(math.NaN())
	if s := expShiftAVX512(&nan[0], &nan[0], 16, 0); s == s || nan[3] == nan[3] || nan[0] != 1 {
		t.Errorf("exp with a NaN element: sum %v, elements %v; want NaN sum, NaN element, others 1", s, nan[:4])
	}
}
