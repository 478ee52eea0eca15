package loader

import (
	"encoding/json"
	"testing"

	"github.com/sinkscope/sinkscope/internal/kernels"
)

// TestParseConfig pins how each spelling of config.json is read, including
// the defaults of the transformers config classes when a field is absent.
func TestParseConfig(t *testing.T) {
	base := func(arch string, extra map[string]any) []byte {
		m := map[string]any{
			"architectures": []string{arch}, "hidden_size": 64, "intermediate_size": 128,
			"num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100,
		}
		for k, v := range extra {
			m[k] = v
		}
		b, _ := json.Marshal(m)
		return b
	}
	llama3 := &kernels.RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}
	cases := []struct {
		name  string
		data  []byte
		check func(c *Config) bool
	}{
		{"defaults: kv = heads, head_dim = d/H; absent bos, eos, theta and eps are left to the family", base("LlamaForCausalLM", nil), func(c *Config) bool {
			return c.NumKVHeads == 4 && c.HeadDim == 16 && c.BOSTokenID == -1 && c.EOSTokenID == -1 && !c.Present("bos_token_id") &&
				c.RopeTheta == 0 && c.RMSNormEps == 0 && c.RopeScaling == nil && c.ClipQKV == 0 && !c.TieWordEmbeddings
		}},
		{"Llama 3.1 rope_scaling llama3, eos list, null pad", base("LlamaForCausalLM", map[string]any{
			"num_key_value_heads": 2, "rope_theta": 500000.0, "bos_token_id": 128000, "eos_token_id": []int{128001, 128008, 128009},
			"rope_scaling": map[string]any{"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"},
			"pad_token_id": nil, "tie_word_embeddings": true,
		}), func(c *Config) bool {
			return c.NumKVHeads == 2 && c.RopeTheta == 5e5 && *c.RopeScaling == *llama3 && c.BOSTokenID == 128000 && c.EOSTokenID == 128001 && c.TieWordEmbeddings
		}},
		{"transformers v5 rope_parameters with theta and llama3", base("LlamaForCausalLM", map[string]any{
			"rope_parameters": map[string]any{"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
			"dtype":           "bfloat16",
		}), func(c *Config) bool {
			return c.RopeTheta == 5e5 && *c.RopeScaling == *llama3 && c.TorchDType == "bfloat16"
		}},
		{"rope_parameters default type only sets theta", base("Olmo2ForCausalLM", map[string]any{
			"rope_parameters": map[string]any{"rope_type": "default", "rope_theta": 500000.0},
		}), func(c *Config) bool { return c.RopeTheta == 5e5 && c.RopeScaling == nil }},
		{"legacy type key, linear", base("LlamaForCausalLM", map[string]any{"rope_scaling": map[string]any{"type": "linear", "factor": 2.0}}), func(c *Config) bool {
			return *c.RopeScaling == kernels.RopeScaling{Type: "linear", Factor: 2}
		}},
		{"explicit head_dim wider than d/H", base("MistralForCausalLM", map[string]any{"head_dim": 32, "num_key_value_heads": 1, "sliding_window": nil}), func(c *Config) bool {
			return c.HeadDim == 32 && c.NumKVHeads == 1
		}},
		{"clip_qkv, rms_norm_eps as written", base("OlmoForCausalLM", map[string]any{"clip_qkv": 8.0, "rms_norm_eps": 0.1, "torch_dtype": "float32"}), func(c *Config) bool {
			return c.RMSNormEps == 0.1 && c.ClipQKV == 8 && c.BOSTokenID == -1 && c.TorchDType == "float32"
		}},
		{"LongRoPE, legacy su name", base("Phi3ForCausalLM", map[string]any{"rope_scaling": map[string]any{"type": "su", "short_factor": []float64{1}, "long_factor": []float64{2}}}), func(c *Config) bool {
			return *c.RopeScaling == kernels.RopeScaling{Type: "longrope"}
		}},
		{"v5 rope_parameters per layer type", base("Gemma3ForCausalLM", map[string]any{"rope_parameters": map[string]any{
			"full_attention":    map[string]any{"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6},
			"sliding_attention": map[string]any{"rope_type": "default", "rope_theta": 1e4},
		}}), func(c *Config) bool {
			full, sl := c.RopeByLayerType["full_attention"], c.RopeByLayerType["sliding_attention"]
			return full.Theta == 1e6 && *full.Scaling == kernels.RopeScaling{Type: "linear", Factor: 8} && sl.Theta == 1e4 && sl.Scaling == nil
		}},
		{"OLMo-2: rms_norm_eps default 1e-5, given 1e-6; null bos", base("Olmo2ForCausalLM", map[string]any{"rms_norm_eps": 1e-6, "bos_token_id": nil, "clip_qkv": nil}), func(c *Config) bool {
			return c.RMSNormEps == 1e-6 && c.BOSTokenID == -1 && c.ClipQKV == 0
		}},
		{"empty eos list", base("LlamaForCausalLM", map[string]any{"eos_token_id": []int{}}), func(c *Config) bool { return c.EOSTokenID == -1 }},
		{"bbtoy: generic fields only, extras in Raw", []byte(`{"architectures":["BigramBackcopyTransformer"],"d_model":256,"attention":"softmax","vocab_size":64,"layer_norm_eps":1e-5}`), func(c *Config) bool {
			return c.VocabSize == 64 && c.HiddenSize == 0 && string(c.Raw["attention"]) == `"softmax"` && c.BOSTokenID == -1 &&
				c.RMSNormEps == 0 && c.RopeTheta == 0
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseConfig("config.json", c.data)
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Errorf("got %+v (rope scaling %+v)", *cfg, cfg.RopeScaling)
			}
		})
	}
}
