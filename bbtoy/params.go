package bbtoy

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// float is the element type of the network: float32 for training and
// inference, float64 for the gradient check.
type float interface{ ~float32 | ~float64 }

// initKind says how a tensor is initialised (PyTorch's defaults for the module
// that owns it).
type initKind uint8

const (
	initNormal initKind = iota // nn.Embedding: N(0, 1)
	initLinear                 // nn.Linear: U(-1/√in, 1/√in)
	initOnes                   // LayerNorm weight
	initZeros                  // LayerNorm bias
)

// tensorSpec places one named parameter tensor in the flat parameter vector.
type tensorSpec struct {
	name  string
	shape []int
	off   int // offset in the flat vector
	n     int // elements
	init  initKind
}

// layout is the ordered list of a config's parameter tensors.
type layout struct {
	cfg   Config
	specs []tensorSpec
	total int
}

func newLayout(c Config) *layout {
	lay := &layout{cfg: c}
	add := func(name string, k initKind, shape ...int) {
		n := 1
		for _, s := range shape {
			n *= s
		}
		lay.specs = append(lay.specs, tensorSpec{name: name, shape: shape, off: lay.total, n: n, init: k})
		lay.total += n
	}
	d := c.D
	add("tok_embeddings.weight", initNormal, c.Vocab, d)
	add("pos_embeddings.weight", initNormal, c.MaxPos, d)
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("layers.%d.", l)
		if c.HasAttn(l) {
			add(p+"attention_norm.weight", initOnes, d)
			add(p+"attention_norm.bias", initZeros, d)
			add(p+"attention.wq.weight", initLinear, d, d)
			add(p+"attention.wk.weight", initLinear, d, d)
			add(p+"attention.wv.weight", initLinear, d, d)
			add(p+"attention.wo.weight", initLinear, d, d)
		}
		if c.HasMLP(l) {
			add(p+"ffn_norm.weight", initOnes, d)
			add(p+"ffn_norm.bias", initZeros, d)
			add(p+"feed_forward.w1.weight", initLinear, c.FF, d)
			add(p+"feed_forward.w2.weight", initLinear, d, c.FF)
		}
	}
	add("norm.weight", initOnes, d)
	add("norm.bias", initZeros, d)
	add("output.weight", initLinear, c.Vocab, d)
	return lay
}

// init fills data (len total) with PyTorch-default initial values drawn from rng.
func (lay *layout) init(data []float32, rng *rand.Rand) {
	for _, s := range lay.specs {
		v := data[s.off : s.off+s.n]
		switch s.init {
		case initNormal:
			for i := range v {
				v[i] = float32(rng.NormFloat64())
			}
		case initLinear:
			b := 1 / math.Sqrt(float64(s.shape[1]))
			for i := range v {
				v[i] = float32((2*rng.Float64() - 1) * b)
			}
		case initOnes:
			for i := range v {
				v[i] = 1
			}
		case initZeros:
			clear(v)
		}
	}
}

// weights are named views into a flat parameter (or gradient) vector.
type weights[F float] struct {
	tok    []F // [Vocab, D]
	pos    []F // [MaxPos, D]
	layers []layerWeights[F]
	normW  []F // [D]
	normB  []F // [D]
	out    []F // [Vocab, D]
}

// layerWeights are one block's tensors; the attention ones are nil when the
// layer has no attention, the MLP ones when it has no MLP.
type layerWeights[F float] struct {
	ln1W, ln1B []F // [D]
	wq, wk, wv []F // [D (H·dh), D]
	wo         []F // [D, D (H·dh)]
	ln2W, ln2B []F // [D]
	w1         []F // [FF, D]
	w2         []F // [D, FF]
}

// bind returns views of data (len total) named by the layout.
func bind[F float](lay *layout, data []F) *weights[F] {
	w := &weights[F]{layers: make([]layerWeights[F], lay.cfg.Layers)}
	for _, s := range lay.specs {
		v := data[s.off : s.off+s.n : s.off+s.n]
		var l int
		var suffix string
		if _, err := fmt.Sscanf(s.name, "layers.%d.%s", &l, &suffix); err == nil {
			lw := &w.layers[l]
			switch suffix {
			case "attention_norm.weight":
				lw.ln1W = v
			case "attention_norm.bias":
				lw.ln1B = v
			case "attention.wq.weight":
				lw.wq = v
			case "attention.wk.weight":
				lw.wk = v
			case "attention.wv.weight":
				lw.wv = v
			case "attention.wo.weight":
				lw.wo = v
			case "ffn_norm.weight":
				lw.ln2W = v
			case "ffn_norm.bias":
				lw.ln2B = v
			case "feed_forward.w1.weight":
				lw.w1 = v
			case "feed_forward.w2.weight":
				lw.w2 = v
			}
			continue
		}
		switch s.name {
		case "tok_embeddings.weight":
			w.tok = v
		case "pos_embeddings.weight":
			w.pos = v
		case "norm.weight":
			w.normW = v
		case "norm.bias":
			w.normB = v
		case "output.weight":
			w.out = v
		}
	}
	return w
}
