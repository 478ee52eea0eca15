// Package gptneox runs GPT-NeoX checkpoints (GPTNeoXForCausalLM: Pythia,
// GPT-NeoX-20B) forward, with the semantics of Hugging Face transformers:
//
//	a = x + dense(attn(ln1(x)))                 (+ dense bias)
//	x = a + mlp(ln1'(x))   parallel residual (use_parallel_residual, default)
//	x = a + mlp(ln2(a))    sequential
//	mlp(y) = dense_4h_to_h(act(dense_h_to_4h(y)))   (biases on both)
//
// LayerNorms carry weight and bias; query_key_value is one fused projection
// whose rows hold q, k and v of head 0, then of head 1, and so on; RoPE
// rotates only the first rotary_pct of each head. Under the parallel
// residual, hook_resid_mid is x + attention output (with the dense bias): no
// sublayer reads it, but it is the stream's state between the two adds.
package gptneox

import (
	"fmt"

	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/transformer"
)

// New binds a GPTNeoXForCausalLM checkpoint. The checkpoint must stay open
// while the model is used.
func New(ck *loader.Checkpoint) (model.Model, error) {
	m, err := newDecoder(ck)
	if err != nil {
		return nil, fmt.Errorf("gptneox: %w", err)
	}
	return m, nil
}

func newDecoder(ck *loader.Checkpoint) (*transformer.Decoder, error) {
	s, err := transformer.StandardShape(ck)
	if err != nil {
		return nil, err
	}
	if s.KVHeads != s.Heads {
		return nil, transformer.FieldError(ck, "num_key_value_heads", "%d: GPT-NeoX has multi-head attention only (%d heads)", s.KVHeads, s.Heads)
	}
	if err := s.CheckHeads(ck); err != nil {
		return nil, err
	}
	act, err := transformer.Act(ck, "gelu", "hidden_act")
	if err != nil {
		return nil, err
	}
	eps, err := transformer.Float(ck, "layer_norm_eps", 1e-5)
	if err != nil {
		return nil, err
	}
	par, err := transformer.Bool(ck, "use_parallel_residual", true)
	if err != nil {
		return nil, err
	}
	bias, err := transformer.Bool(ck, "attention_bias", true)
	if err != nil {
		return nil, err
	}
	rope, err := newRope(ck, s.HeadDim)
	if err != nil {
		return nil, err
	}
	m := transformer.NewDecoder(ck.Config.Architecture, s)
	b := transformer.NewBinder(ck, s.Summary())
	ln := func(name string) transformer.Norm {
		return transformer.Norm{Kind: transformer.LayerNorm, Eps: float32(eps),
			Weight: b.Vector(name+".weight", s.DModel), Bias: b.Vector(name+".bias", s.DModel)}
	}
	d, ff, qkv := s.DModel, s.Intermediate, 3*s.Heads*s.HeadDim
	m.Embed = b.Matrix("gpt_neox.embed_in.weight", s.Vocab, d)
	for l := range m.Layers {
		p := fmt.Sprintf("gpt_neox.layers.%d.", l)
		ly := &m.Layers[l]
		ly.Parallel = par
		ly.AttnNorm = ln(p + "input_layernorm")
		ly.Attn = transformer.Attention{
			QKV:    b.Matrix(p+"attention.query_key_value.weight", qkv, d),
			Layout: transformer.QKVPerHead,
			O:      b.Matrix(p+"attention.dense.weight", d, s.Heads*s.HeadDim),
			Rope:   rope,
		}
		if bias {
			ly.Attn.QKVBias = b.Vector(p+"attention.query_key_value.bias", qkv)
			ly.Attn.OBias = b.Vector(p+"attention.dense.bias", d)
		}
		ly.MLPNorm = ln(p + "post_attention_layernorm")
		ly.MLP = transformer.MLP{
			Up:       b.Matrix(p+"mlp.dense_h_to_4h.weight", ff, d),
			UpBias:   b.Vector(p+"mlp.dense_h_to_4h.bias", ff),
			Down:     b.Matrix(p+"mlp.dense_4h_to_h.weight", d, ff),
			DownBias: b.Vector(p+"mlp.dense_4h_to_h.bias", d),
			Act:      act,
		}
	}
	m.Final = ln("gpt_neox.final_layer_norm")
	m.Tied = transformer.Tied(ck, false)
	m.LMHead = b.Head("embed_out.weight", m.Tied, m.Embed, s.Vocab, d)
	return m, b.Err()
}

// newRope rotates int(head_dim · rotary_pct) dimensions (partial_rotary_factor
// in newer configs; default 0.25) with base rotary_emb_base (or rope_theta;
// default 10000).
func newRope(ck *loader.Checkpoint, headDim int) (*transformer.Rope, error) {
	pct, err := transformer.Float(ck, "rotary_pct", 0)
	if err != nil {
		return nil, err
	}
	if pct == 0 {
		if pct, err = transformer.Float(ck, "partial_rotary_factor", 0.25); err != nil {
			return nil, err
		}
	}
	if pct > 1 {
		return nil, transformer.FieldError(ck, "rotary_pct", "%v: want a fraction of the head in (0, 1]", pct)
	}
	base, err := transformer.Float(ck, "rotary_emb_base", 0)
	if err != nil {
		return nil, err
	}
	if base == 0 {
		if base = ck.Config.RopeTheta; base == 0 {
			base = 10000
		}
	}
	return transformer.NewRope(ck, int(float64(headDim)*pct), base, ck.Config.RopeScaling)
}
