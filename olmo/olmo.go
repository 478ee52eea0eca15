// Package olmo runs OLMo (OlmoForCausalLM: OLMo 1, 1.7 "0424", "0724") and
// OLMo-2 (Olmo2ForCausalLM) checkpoints forward, with the semantics of Hugging
// Face transformers. Both use the Llama tensor layout:
//
//   - OLMo: every norm is a LayerNorm without weight or bias (eps 1e-5, fixed
//     in the model code, no tensors in the checkpoint), and q, k and v are
//     clamped to ±clip_qkv right after projection, before the hooks and RoPE.
//   - OLMo-2: no pre-norms; each sublayer's output goes through an RMSNorm
//     (post_attention_layernorm, post_feedforward_layernorm) before the
//     residual add, so hook_attn_out and hook_mlp_out are post-norm; q_norm
//     and k_norm are RMSNorms over the whole q and k projections, before the
//     split into heads and before RoPE.
package olmo

import (
	"fmt"

	"github.com/sinkscope/sinkscope/llama"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/transformer"
)

// layerNormEps is the epsilon OLMo's non-parametric LayerNorm uses.
const layerNormEps = 1e-5

// New binds an OlmoForCausalLM or Olmo2ForCausalLM checkpoint. The
// checkpoint must stay open while the model is used.
func New(ck *loader.Checkpoint) (model.Model, error) {
	m, err := newDecoder(ck)
	if err != nil {
		return nil, fmt.Errorf("olmo: %w", err)
	}
	return m, nil
}

func newDecoder(ck *loader.Checkpoint) (*transformer.Decoder, error) {
	if a := ck.Config.Architecture; a != "OlmoForCausalLM" && a != "Olmo2ForCausalLM" {
		return nil, fmt.Errorf("%s: architecture %q is not OlmoForCausalLM or Olmo2ForCausalLM", ck.Dir, a)
	}
	r := transformer.Read(ck)
	s := r.Shape()
	llama.SiLU(r, "hidden_act")
	r.Off("attention_bias", false, "sinkscope implements the bias-free projections only")
	eps := r.Float("rms_norm_eps", 1e-5)
	if err := r.Err(); err != nil {
		return nil, err
	}
	olmo2 := ck.Config.Architecture == "Olmo2ForCausalLM"
	rope, err := transformer.NewRope(ck, s.HeadDim, llama.Theta(ck), ck.Config.RopeScaling)
	if err != nil {
		return nil, err
	}
	transformer.DefaultTokens(ck, -1, 50279)
	m := transformer.NewDecoder(ck.Config.Architecture, s)
	b := transformer.NewBinder(ck, s.Summary())
	norm := transformer.Norm{Kind: transformer.LayerNorm, Eps: layerNormEps} // OLMo: no weights
	rms := func(name string, n int) transformer.Norm {
		return transformer.Norm{Kind: transformer.RMSNorm, Eps: float32(eps), Weight: b.Vector(name, n)}
	}
	m.Embed = llama.Embed(b, s)
	for l := range m.Layers {
		ly := &m.Layers[l]
		ly.Attn = llama.Attention(b, l, s)
		ly.Attn.Rope = rope
		ly.MLP = llama.MLP(b, l, s, transformer.SiLU)
		if olmo2 {
			ly.Attn.QNorm = rms(llama.Name(l, "self_attn.q_norm.weight"), s.Heads*s.HeadDim)
			ly.Attn.KNorm = rms(llama.Name(l, "self_attn.k_norm.weight"), s.KVHeads*s.HeadDim)
			ly.PostAttnNorm = rms(llama.Name(l, "post_attention_layernorm.weight"), s.DModel)
			ly.PostMLPNorm = rms(llama.Name(l, "post_feedforward_layernorm.weight"), s.DModel)
			continue
		}
		ly.Attn.Clip = float32(ck.Config.ClipQKV)
		ly.AttnNorm, ly.MLPNorm = norm, norm
	}
	m.Final = norm
	if olmo2 {
		m.Final = rms("model.norm.weight", s.DModel)
	}
	m.Tied = transformer.Tied(ck, false)
	m.LMHead = b.Head("lm_head.weight", m.Tied, m.Embed, s.Vocab, s.DModel)
	return m, b.Err()
}
