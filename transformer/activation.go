package transformer

import (
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/internal/kernels"
)

// Activation is an MLP nonlinearity.
type Activation uint8

const (
	SiLU     Activation = iota // x·σ(x) (hidden_act "silu")
	GELU                       // exact x·Φ(x) with erf (hidden_act "gelu")
	GELUTanh                   // the tanh approximation ("gelu_new", "gelu_pytorch_tanh")
)

// ParseActivation maps a config.json activation name (hidden_act,
// hidden_activation, activation_function) to its Activation.
func ParseActivation(name string) (Activation, error) {
	switch name {
	case "silu", "swish":
		return SiLU, nil
	case "gelu":
		return GELU, nil
	case "gelu_new", "gelu_pytorch_tanh", "gelu_fast":
		return GELUTanh, nil
	}
	return 0, fmt.Errorf("%q: sinkscope implements silu, gelu, gelu_new and gelu_pytorch_tanh", name)
}

// String returns the Hugging Face name of the activation.
func (a Activation) String() string {
	switch a {
	case SiLU:
		return "silu"
	case GELU:
		return "gelu"
	case GELUTanh:
		return "gelu_tanh"
	}
	return fmt.Sprintf("Activation(%d)", uint8(a))
}

// apply replaces every element of x by its activation.
func (a Activation) apply(x []float32) {
	switch a {
	case SiLU:
		for i, v := range x {
			x[i] = kernels.SiLU(v)
		}
	case GELU:
		for i, v := range x {
			x[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
	case GELUTanh:
		const c = 0.7978845608028654 // √(2/π)
		for i, v := range x {
			u := float64(v)
			x[i] = float32(0.5 * u * (1 + math.Tanh(c*(u+0.044715*u*u*u))))
		}
	}
}
