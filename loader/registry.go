package loader

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// archSpec is what the loader knows about one architecture: config defaults
// and validation, and the tensors (with shapes) a checkpoint must hold.
type archSpec struct {
	generic     bool    // validate generic fields only (the family's package parses Raw)
	normEps     float64 // norm epsilon when config.json has no rms_norm_eps
	fixedEps    bool    // the norm eps is not configurable (OLMo's LayerNorm)
	headDimEven bool    // RoPE needs an even head dimension
	bos, eos    int     // token ids when the field is absent (transformers defaults)
	unsupported []func(fields) error
	tensors     func(*Config) []tensorShape // nil: not checked by the loader
}

// tensorShape is one tensor a checkpoint must hold.
type tensorShape struct {
	name  string
	shape []int
}

// registry maps config.json architectures[0] to its spec. Read-only.
var registry = map[string]archSpec{
	"LlamaForCausalLM": {
		normEps: 1e-6, headDimEven: true, bos: 1, eos: 2,
		unsupported: []func(fields) error{onlySiLU, noBias("attention_bias"), noBias("mlp_bias")},
		tensors:     llamaTensors,
	},
	"MistralForCausalLM": {
		normEps: 1e-6, headDimEven: true, bos: 1, eos: 2,
		unsupported: []func(fields) error{onlySiLU, checkSlidingWindow},
		tensors:     llamaTensors,
	},
	"OlmoForCausalLM": {
		normEps: 1e-5, fixedEps: true, headDimEven: true, bos: -1, eos: 50279,
		unsupported: []func(fields) error{onlySiLU, noBias("attention_bias")},
		tensors:     olmoTensors,
	},
	"Olmo2ForCausalLM": {
		normEps: 1e-5, headDimEven: true, bos: -1, eos: 50279,
		unsupported: []func(fields) error{onlySiLU, noBias("attention_bias")},
		tensors:     olmo2Tensors,
	},
	"BigramBackcopyTransformer": {generic: true, bos: -1, eos: -1},
}

// SupportedArchitectures returns the architectures[0] values sinkscope
// reads, sorted.
func SupportedArchitectures() []string {
	out := make([]string, 0, len(registry))
	for a := range registry {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func onlySiLU(f fields) error {
	act, present, err := f.str("hidden_act")
	if err != nil || !present || act == "silu" {
		return err
	}
	return fieldError("hidden_act", "%q: sinkscope implements silu only", act)
}

func noBias(name string) func(fields) error {
	return func(f fields) error {
		b, _, err := f.bool(name)
		if err == nil && b {
			err = fieldError(name, "true: sinkscope implements the bias-free projections only")
		}
		return err
	}
}

func checkSlidingWindow(f fields) error {
	raw, ok := f.get("sliding_window")
	if !ok {
		return nil
	}
	var w int
	if err := json.Unmarshal(raw, &w); err != nil {
		return fieldError("sliding_window", "%s: want an integer or null", clip(raw))
	}
	// Model packages decide what a window means for a given sequence length.
	return nil
}

// layerShapes lists the per-layer tensors with the same shape pattern.
func perLayer(c *Config, out []tensorShape, suffix string, shape ...int) []tensorShape {
	for l := range c.NumLayers {
		out = append(out, tensorShape{fmt.Sprintf("model.layers.%d.%s", l, suffix), shape})
	}
	return out
}

// commonTensors are those every Llama-like family holds: embeddings, output
// head (unless tied), attention and SwiGLU MLP projections.
func commonTensors(c *Config) []tensorShape {
	d, q, kv, ff := c.HiddenSize, c.NumHeads*c.HeadDim, c.NumKVHeads*c.HeadDim, c.IntermediateSize
	out := []tensorShape{{"model.embed_tokens.weight", []int{c.VocabSize, d}}}
	if !c.TieWordEmbeddings {
		out = append(out, tensorShape{"lm_head.weight", []int{c.VocabSize, d}})
	}
	out = perLayer(c, out, "self_attn.q_proj.weight", q, d)
	out = perLayer(c, out, "self_attn.k_proj.weight", kv, d)
	out = perLayer(c, out, "self_attn.v_proj.weight", kv, d)
	out = perLayer(c, out, "self_attn.o_proj.weight", d, q)
	out = perLayer(c, out, "mlp.gate_proj.weight", ff, d)
	out = perLayer(c, out, "mlp.up_proj.weight", ff, d)
	out = perLayer(c, out, "mlp.down_proj.weight", d, ff)
	return out
}

func llamaTensors(c *Config) []tensorShape {
	out := commonTensors(c)
	out = append(out, tensorShape{"model.norm.weight", []int{c.HiddenSize}})
	out = perLayer(c, out, "input_layernorm.weight", c.HiddenSize)
	return perLayer(c, out, "post_attention_layernorm.weight", c.HiddenSize)
}

// olmoTensors: OLMo's LayerNorms have no parameters.
func olmoTensors(c *Config) []tensorShape { return commonTensors(c) }

func olmo2Tensors(c *Config) []tensorShape {
	out := commonTensors(c)
	out = append(out, tensorShape{"model.norm.weight", []int{c.HiddenSize}})
	out = perLayer(c, out, "self_attn.q_norm.weight", c.NumHeads*c.HeadDim)
	out = perLayer(c, out, "self_attn.k_norm.weight", c.NumKVHeads*c.HeadDim)
	out = perLayer(c, out, "post_attention_layernorm.weight", c.HiddenSize)
	return perLayer(c, out, "post_feedforward_layernorm.weight", c.HiddenSize)
}

// checkShapes verifies that ts holds every tensor the config's architecture
// needs, with the shape the config implies.
func checkShapes(file string, c *Config, ts *Tensors) error {
	spec := registry[c.Architecture]
	if spec.tensors == nil {
		return nil
	}
	var bad []string
	first := ""
	for _, want := range spec.tensors(c) {
		t, ok := ts.byName[want.name]
		var msg string
		switch {
		case !ok && want.name == "lm_head.weight":
			msg = fmt.Sprintf("no tensor %q, but tie_word_embeddings is false", want.name)
		case !ok:
			msg = fmt.Sprintf("no tensor %q, which %s needs", want.name, c.Architecture)
		case !slices.Equal(t.Shape, want.shape):
			msg = fmt.Sprintf("tensor %q in %s has shape %v, but config.json (%s) implies %v",
				want.name, t.File, t.Shape, c.shapeSummary(), want.shape)
		default:
			continue
		}
		if first == "" {
			first = msg
		}
		bad = append(bad, want.name)
	}
	if len(bad) == 0 {
		return nil
	}
	if len(bad) > 1 {
		first += fmt.Sprintf(" (and %d more tensors wrong or missing: %s)", len(bad)-1, strings.Join(limit(bad[1:], 4), ", "))
	}
	return fmt.Errorf("loader: %s: %s", file, first)
}

func (c *Config) shapeSummary() string {
	return fmt.Sprintf("hidden_size=%d, intermediate_size=%d, num_attention_heads=%d, num_key_value_heads=%d, head_dim=%d, vocab_size=%d",
		c.HiddenSize, c.IntermediateSize, c.NumHeads, c.NumKVHeads, c.HeadDim, c.VocabSize)
}

func limit(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}
