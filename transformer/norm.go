package transformer

import "github.com/sinkscope/sinkscope/internal/kernels"

// NormKind says how a Norm normalises a row of activations.
type NormKind uint8

const (
	// NoNorm passes rows through unchanged (OLMo-2 has no pre-norms).
	NoNorm NormKind = iota
	// RMSNorm is x·rsqrt(mean(x²)+eps)·weight, as in Llama and OLMo-2.
	// Gemma's (1+w) variant is an RMSNorm whose bound weight is 1+w.
	RMSNorm
	// LayerNorm is (x−mean)/sqrt(var+eps)·weight+bias; OLMo uses it without
	// weight or bias, GPT-NeoX and GPT-2 with both.
	LayerNorm
)

// String names the kind.
func (k NormKind) String() string {
	switch k {
	case NoNorm:
		return "none"
	case RMSNorm:
		return "rmsnorm"
	case LayerNorm:
		return "layernorm"
	}
	return "NormKind(?)"
}

// Norm is one normalisation layer, applied row by row.
type Norm struct {
	Kind   NormKind
	Weight []float32 // [width]; nil means ones (non-parametric)
	Bias   []float32 // [width]; LayerNorm only, nil means zeros
	Eps    float32
}

// Rows normalises each width-long row of x into dst (len(dst) = len(x)).
// dst and x may be the same slice.
func (n *Norm) Rows(dst, x []float32, width int) {
	if n.Kind == NoNorm {
		if len(x) > 0 && &dst[0] != &x[0] {
			copy(dst, x)
		}
		return
	}
	for off := 0; off+width <= len(x); off += width {
		d, r := dst[off:off+width], x[off:off+width]
		switch n.Kind {
		case RMSNorm:
			kernels.RMSNorm(d, r, n.Weight, n.Eps)
		case LayerNorm:
			kernels.LayerNorm(d, r, n.Weight, n.Bias, n.Eps)
		}
	}
}
