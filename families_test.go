package sinkscope

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/loader"
)

// tinyLlama writes a LlamaForCausalLM checkpoint (d 8, 2 heads of 4, 1 KV
// head, MLP 16, vocab 10, 2 layers) with config edited by cfg and tensors
// edited by ts into a new directory.
func tinyLlama(t *testing.T, cfg func(map[string]any), ts func(map[string][]int)) string {
	t.Helper()
	c := map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 2,
		"num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 10, "rms_norm_eps": 1e-5, "tie_word_embeddings": false,
	}
	shapes := map[string][]int{"model.embed_tokens.weight": {10, 8}, "lm_head.weight": {10, 8}, "model.norm.weight": {8}}
	for l := range 2 {
		p := fmt.Sprintf("model.layers.%d.", l)
		for name, shape := range map[string][]int{
			"input_layernorm.weight": {8}, "post_attention_layernorm.weight": {8},
			"self_attn.q_proj.weight": {8, 8}, "self_attn.k_proj.weight": {4, 8}, "self_attn.v_proj.weight": {4, 8},
			"self_attn.o_proj.weight": {8, 8}, "mlp.gate_proj.weight": {16, 8}, "mlp.up_proj.weight": {16, 8}, "mlp.down_proj.weight": {8, 16},
		} {
			shapes[p+name] = shape
		}
	}
	if cfg != nil {
		cfg(c)
	}
	if ts != nil {
		ts(shapes)
	}
	dir := t.TempDir()
	b, _ := json.Marshal(c)
	if err := os.WriteFile(filepath.Join(dir, loader.ConfigFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var ws []loader.WriteTensor
	for name, shape := range shapes {
		n := 4
		for _, d := range shape {
			n *= d
		}
		ws = append(ws, loader.WriteTensor{Name: name, DType: loader.F32, Shape: shape, Data: make([]byte, n)})
	}
	if err := loader.WriteSafetensors(filepath.Join(dir, loader.WeightsFile), ws, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFamilyValidation: a config or tensor set that does not fit the family
// is an error naming the file, the field or tensor, and what was expected.
func TestFamilyValidation(t *testing.T) {
	if _, _, err := Open(tinyLlama(t, nil, nil), 1); err != nil {
		t.Fatalf("the unedited checkpoint: %v", err)
	}
	drop := func(name string) func(map[string][]int) { return func(m map[string][]int) { delete(m, name) } }
	cases := []struct {
		name string
		cfg  func(map[string]any)
		ts   func(map[string][]int)
		want []string
	}{
		{"config/tensor shape mismatch", func(m map[string]any) { m["intermediate_size"] = 24 }, nil,
			[]string{`tensor "model.layers.0.mlp.`, "has shape [16 8], but config.json", "intermediate_size=24", "implies [24 8]", "and 5 more"}},
		{"config/tensor head mismatch", func(m map[string]any) { m["num_key_value_heads"] = 2 }, nil,
			[]string{`tensor "model.layers.0.self_attn.k_proj.weight"`, "has shape [4 8]", "num_key_value_heads=2", "implies [8 8]"}},
		{"required tensor missing", nil, drop("model.layers.1.mlp.up_proj.weight"),
			[]string{`no tensor "model.layers.1.mlp.up_proj.weight", which LlamaForCausalLM needs`}},
		{"untied without lm_head", nil, drop("lm_head.weight"), []string{`no tensor "lm_head.weight", but tie_word_embeddings is false`}},
		{"missing field", func(m map[string]any) { delete(m, "vocab_size") }, nil, []string{"config.json", `field "vocab_size": missing; LlamaForCausalLM needs it`}},
		{"odd head_dim", func(m map[string]any) { m["head_dim"] = 3 }, nil, []string{`field "head_dim": 3 rotary dimensions`}},
		{"gelu", func(m map[string]any) { m["hidden_act"] = "gelu" }, nil, []string{`field "hidden_act": "gelu": sinkscope implements silu only`}},
		{"unknown activation", func(m map[string]any) { m["hidden_act"] = "relu2" }, nil, []string{`field "hidden_act": "relu2": sinkscope implements`}},
		{"attention bias", func(m map[string]any) { m["attention_bias"] = true }, nil, []string{`field "attention_bias": true`}},
		{"bad layer_types", func(m map[string]any) {
			m["architectures"] = []string{"Qwen2ForCausalLM"}
			m["layer_types"] = []string{"full_attention"}
		}, nil, []string{`field "layer_types": 1 entries for 2 layers`}},
		{"sliding layer without window", func(m map[string]any) {
			m["architectures"] = []string{"Qwen2ForCausalLM"}
			m["layer_types"] = []string{"full_attention", "sliding_attention"}
		}, nil, []string{`layer 1 is sliding_attention but there is no sliding window`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := tinyLlama(t, c.cfg, c.ts)
			_, ck, err := Open(dir, 1)
			if err == nil {
				ck.Close()
				t.Fatalf("no error, want one containing %q", c.want)
			}
			for _, w := range append([]string{dir}, c.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}
}
