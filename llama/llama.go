// Package llama runs Llama 2, Llama 3/3.1 and Mistral checkpoints
// (LlamaForCausalLM, MistralForCausalLM) forward, with the semantics of
// Hugging Face transformers and TransformerLens-named hook points.
//
// The decoder itself (Decoder, Layer, Attention, MLP, Norm) is exported with
// the options that other Llama-shaped families need (norm kind, clip_qkv,
// QK-norm, post-sublayer norms), so package olmo builds OLMo and OLMo-2 from
// the same code. All arithmetic is float32; weights stay in the dtype they
// are stored in, as views of the checkpoint's memory map.
package llama

import (
	"encoding/json"
	"fmt"

	"github.com/sinkscope/sinkscope/loader"
)

// Model is a Llama or Mistral model. It implements model.Model.
type Model struct {
	*Decoder
}

// New binds the weights of a LlamaForCausalLM or MistralForCausalLM
// checkpoint. The checkpoint must stay open while the model is used.
func New(c *loader.Checkpoint) (*Model, error) {
	if c == nil || c.Config == nil {
		return nil, fmt.Errorf("llama: no checkpoint config")
	}
	cfg := c.Config
	opts := Options{Norm: RMSNorm, Eps: float32(cfg.RMSNormEps), NormWeights: true}
	switch cfg.Architecture {
	case "LlamaForCausalLM":
	case "MistralForCausalLM":
		// Mistral 7B v0.1 attends to the last sliding_window keys only; later
		// versions set it to null.
		if raw, ok := cfg.Raw["sliding_window"]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &opts.Window); err != nil || opts.Window < 0 {
				return nil, fmt.Errorf("llama: %s: config.json: sliding_window %s: want a non-negative integer or null", c.Dir, raw)
			}
		}
	default:
		return nil, fmt.Errorf("llama: %s: architecture %q is not LlamaForCausalLM or MistralForCausalLM", c.Dir, cfg.Architecture)
	}
	d, err := Build(c, opts)
	if err != nil {
		return nil, err
	}
	return &Model{d}, nil
}
