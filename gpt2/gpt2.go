// Package gpt2 runs GPT-2 checkpoints (GPT2LMHeadModel) forward, with the
// semantics of Hugging Face transformers:
//
//	x = wte(ids) + wpe(positions)
//	a = x + c_proj(attn(c_attn(ln_1(x))))
//	x = a + mlp.c_proj(gelu_new(mlp.c_fc(ln_2(a))))
//	logits = ln_f(x) · wteᵀ
//
// Conv1D weights are stored [in, out] and read in place, transposed; every
// projection and LayerNorm has a bias; positions are learned, so a sequence
// may not exceed n_positions; the output head is the token embedding.
// Checkpoints saved by transformers prefix every name with "transformer.";
// the original Hub files do not, and may also hold the attention-mask
// buffers h.N.attn.bias and attn.masked_bias, which are not weights and are
// ignored.
package gpt2

import (
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/transformer"
)

// New binds a GPT2LMHeadModel checkpoint. The checkpoint must stay open
// while the model is used.
func New(ck *loader.Checkpoint) (model.Model, error) {
	m, err := newDecoder(ck)
	if err != nil {
		return nil, fmt.Errorf("gpt2: %w", err)
	}
	return m, nil
}

// shape reads GPT2Config's own field names.
func shape(ck *loader.Checkpoint) (transformer.Shape, error) {
	f := ck.Config.Fields()
	var s transformer.Shape
	for _, x := range []struct {
		dst  *int
		name string
	}{{&s.DModel, "n_embd"}, {&s.Layers, "n_layer"}, {&s.Heads, "n_head"}, {&s.MaxPositions, "n_positions"}, {&s.Vocab, "vocab_size"}} {
		v, present, err := f.PositiveInt(x.name)
		if err != nil {
			return s, transformer.ConfigError(ck, err)
		}
		if !present {
			return s, transformer.FieldError(ck, x.name, "missing; GPT2LMHeadModel needs it")
		}
		*x.dst = v
	}
	if s.DModel%s.Heads != 0 {
		return s, transformer.FieldError(ck, "n_embd", "%d is not divisible by n_head %d", s.DModel, s.Heads)
	}
	s.KVHeads, s.HeadDim = s.Heads, s.DModel/s.Heads
	inner, present, err := f.PositiveInt("n_inner")
	if err != nil {
		return s, transformer.ConfigError(ck, err)
	}
	if !present {
		inner = 4 * s.DModel
	}
	s.Intermediate = inner
	return s, s.CheckHeads(ck)
}

func newDecoder(ck *loader.Checkpoint) (*transformer.Decoder, error) {
	s, err := shape(ck)
	if err != nil {
		return nil, err
	}
	r := transformer.Read(ck)
	act := r.Act("gelu_new", "activation_function")
	eps := r.Float("layer_norm_epsilon", 1e-5)
	scaled := r.Bool("scale_attn_weights", true)
	byLayer := r.Bool("scale_attn_by_inverse_layer_idx", false)
	if err := r.Err(); err != nil {
		return nil, err
	}
	m := transformer.NewDecoder(ck.Config.Architecture, s)
	b := transformer.NewBinder(ck, fmt.Sprintf("n_embd=%d, n_head=%d, n_inner=%d, n_positions=%d, vocab_size=%d",
		s.DModel, s.Heads, s.Intermediate, s.MaxPositions, s.Vocab))
	prefix := ""
	if b.Has("transformer.wte.weight") {
		prefix = "transformer."
	}
	ln := func(name string) transformer.Norm {
		return transformer.Norm{Kind: transformer.LayerNorm, Eps: float32(eps),
			Weight: b.Vector(prefix+name+".weight", s.DModel), Bias: b.Vector(prefix+name+".bias", s.DModel)}
	}
	d, ff := s.DModel, s.Intermediate
	m.Embed = b.Matrix(prefix+"wte.weight", s.Vocab, d)
	m.Positions = b.Matrix(prefix+"wpe.weight", s.MaxPositions, d)
	for l := range m.Layers {
		p := fmt.Sprintf("%sh.%d.", prefix, l)
		ly := &m.Layers[l]
		ly.AttnNorm = ln(p[len(prefix):] + "ln_1")
		ly.Attn = transformer.Attention{
			QKV:     b.Conv1D(p+"attn.c_attn.weight", 3*d, d),
			QKVBias: b.Vector(p+"attn.c_attn.bias", 3*d),
			Layout:  transformer.QKVBlocks,
			O:       b.Conv1D(p+"attn.c_proj.weight", d, d),
			OBias:   b.Vector(p+"attn.c_proj.bias", d),
			Scale:   scale(s.HeadDim, l, scaled, byLayer),
		}
		ly.MLPNorm = ln(p[len(prefix):] + "ln_2")
		ly.MLP = transformer.MLP{
			Up:       b.Conv1D(p+"mlp.c_fc.weight", ff, d),
			UpBias:   b.Vector(p+"mlp.c_fc.bias", ff),
			Down:     b.Conv1D(p+"mlp.c_proj.weight", d, ff),
			DownBias: b.Vector(p+"mlp.c_proj.bias", d),
			Act:      act,
		}
	}
	m.Final = ln("ln_f")
	m.Tied = transformer.Tied(ck, true)
	m.LMHead = b.Head("lm_head.weight", m.Tied, m.Embed, s.Vocab, d)
	return m, b.Err()
}

// scale is the factor of q·k: 1/√head_dim when scale_attn_weights, further
// divided by layer+1 when scale_attn_by_inverse_layer_idx.
func scale(headDim, layer int, scaled, byLayer bool) float32 {
	s := float32(1)
	if scaled {
		s = float32(1 / math.Sqrt(float64(headDim)))
	}
	if byLayer {
		s /= float32(layer + 1)
	}
	return s
}
