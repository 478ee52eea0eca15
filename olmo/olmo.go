// Package olmo runs OLMo (OlmoForCausalLM: OLMo 1, 1.7 "0424", "0724") and
// OLMo-2 (Olmo2ForCausalLM) checkpoints forward, with the semantics of Hugging
// Face transformers. Both are Llama-shaped, so they are built from package
// llama's decoder with family options:
//
//   - OLMo: every norm is a LayerNorm without weight or bias (eps 1e-5, no
//     tensors in the checkpoint), and q, k and v are clamped to ±clip_qkv
//     right after projection, before the hooks and RoPE.
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
)

// layerNormEps is the epsilon OLMo's non-parametric LayerNorm uses; it is
// fixed in the model code, not read from config.json.
const layerNormEps = 1e-5

// Model is an OLMo or OLMo-2 model. It implements model.Model.
type Model struct {
	*llama.Decoder
}

// New binds the weights of an OlmoForCausalLM or Olmo2ForCausalLM
// checkpoint. The checkpoint must stay open while the model is used.
func New(c *loader.Checkpoint) (*Model, error) {
	if c == nil || c.Config == nil {
		return nil, fmt.Errorf("olmo: no checkpoint config")
	}
	cfg := c.Config
	var opts llama.Options
	switch cfg.Architecture {
	case "OlmoForCausalLM":
		if cfg.ClipQKV < 0 {
			return nil, fmt.Errorf("olmo: %s: config.json: clip_qkv %g must not be negative", c.Dir, cfg.ClipQKV)
		}
		opts = llama.Options{Norm: llama.LayerNorm, Eps: layerNormEps, Clip: float32(cfg.ClipQKV)}
	case "Olmo2ForCausalLM":
		opts = llama.Options{Norm: llama.RMSNorm, Eps: float32(cfg.RMSNormEps), NormWeights: true, PostNorms: true, QKNorm: true}
	default:
		return nil, fmt.Errorf("olmo: %s: architecture %q is not OlmoForCausalLM or Olmo2ForCausalLM", c.Dir, cfg.Architecture)
	}
	d, err := llama.Build(c, opts)
	if err != nil {
		return nil, err
	}
	return &Model{d}, nil
}
