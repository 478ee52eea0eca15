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
	r := transformer.Read(ck)
	s := r.Shape()
	if s.KVHeads != s.Heads {
		r.Fail("num_key_value_heads", "%d: GPT-NeoX has multi-head attention only (%d heads)", s.KVHeads, s.Heads)
	}
	act := r.Act("gelu", "hidden_act")
	eps := r.Float("layer_norm_eps", 1e-5)
	par := r.Bool("use_parallel_residual", true)
	bias := r.Bool("attention_bias", true)
	// rotary_pct, or partial_rotary_factor in newer configs; the base is
	// rotary_emb_base, or rope_theta.
	pct := r.Float("rotary_pct", r.Float("partial_rotary_factor", 0.25))
	if pct > 1 {
		r.Fail("rotary_pct", "%v: want a fraction of the head in (0, 1]", pct)
	}
	theta := 10000.0
	if t := ck.Config.RopeTheta; t > 0 {
		theta = t
	}
	base := r.Float("rotary_emb_base", theta)
	if err := r.Err(); err != nil {
		return nil, err
	}
	rope, err := transformer.NewRope(ck, int(float64(s.HeadDim)*pct), base, ck.Config.RopeScaling)
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
