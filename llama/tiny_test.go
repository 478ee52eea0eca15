package llama_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/loader"
)

// tiny describes a small random checkpoint that a test writes to disk.
type tiny struct {
	arch                                   string // LlamaForCausalLM, MistralForCausalLM, OlmoForCausalLM or Olmo2ForCausalLM
	d, layers, heads, kv, dh, inter, vocab int
	tied                                   bool
	dtype                                  loader.DType   // F32 (zero value means F32) or BF16
	config                                 map[string]any // extra config.json fields
}

// write stores config.json and model.safetensors for s in dir, with weights
// N(0, 1/fan_in) (embeddings N(0, 1), norm weights 1 + N(0, 0.1)) from seed.
func (s tiny) write(t testing.TB, dir string, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	dt := s.dtype
	if dt == 0 {
		dt = loader.F32
	}
	var ws []loader.WriteTensor
	add := func(name string, std float64, mean float64, shape ...int) {
		n := 1
		for _, v := range shape {
			n *= v
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(mean + std*rng.NormFloat64())
		}
		ws = append(ws, loader.WriteTensor{Name: name, DType: dt, Shape: shape, Data: encode(x, dt)})
	}
	q, kv := s.heads*s.dh, s.kv*s.dh
	add("model.embed_tokens.weight", 1, 0, s.vocab, s.d)
	if !s.tied {
		add("lm_head.weight", 1/math.Sqrt(float64(s.d)), 0, s.vocab, s.d)
	}
	hasNorms := s.arch != "OlmoForCausalLM"
	if hasNorms {
		add("model.norm.weight", 0.1, 1, s.d)
	}
	for l := 0; l < s.layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"self_attn.q_proj.weight", 1/math.Sqrt(float64(s.d)), 0, q, s.d)
		add(p+"self_attn.k_proj.weight", 1/math.Sqrt(float64(s.d)), 0, kv, s.d)
		add(p+"self_attn.v_proj.weight", 1/math.Sqrt(float64(s.d)), 0, kv, s.d)
		add(p+"self_attn.o_proj.weight", 1/math.Sqrt(float64(q)), 0, s.d, q)
		add(p+"mlp.gate_proj.weight", 1/math.Sqrt(float64(s.d)), 0, s.inter, s.d)
		add(p+"mlp.up_proj.weight", 1/math.Sqrt(float64(s.d)), 0, s.inter, s.d)
		add(p+"mlp.down_proj.weight", 1/math.Sqrt(float64(s.inter)), 0, s.d, s.inter)
		switch s.arch {
		case "Olmo2ForCausalLM":
			add(p+"self_attn.q_norm.weight", 0.1, 1, q)
			add(p+"self_attn.k_norm.weight", 0.1, 1, kv)
			add(p+"post_attention_layernorm.weight", 0.1, 1, s.d)
			add(p+"post_feedforward_layernorm.weight", 0.1, 1, s.d)
		case "OlmoForCausalLM":
		default:
			add(p+"input_layernorm.weight", 0.1, 1, s.d)
			add(p+"post_attention_layernorm.weight", 0.1, 1, s.d)
		}
	}
	if err := loader.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ws, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"architectures":           []string{s.arch},
		"hidden_size":             s.d,
		"intermediate_size":       s.inter,
		"num_hidden_layers":       s.layers,
		"num_attention_heads":     s.heads,
		"num_key_value_heads":     s.kv,
		"head_dim":                s.dh,
		"vocab_size":              s.vocab,
		"max_position_embeddings": 512,
		"rms_norm_eps":            1e-5,
		"rope_theta":              10000.0,
		"tie_word_embeddings":     s.tied,
		"hidden_act":              "silu",
	}
	for k, v := range s.config {
		cfg[k] = v
	}
	writeJSON(t, filepath.Join(dir, "config.json"), cfg)
}

func encode(x []float32, dt loader.DType) []byte {
	if dt == loader.BF16 {
		b := make([]byte, 2*len(x))
		for i, v := range x {
			binary.LittleEndian.PutUint16(b[2*i:], kernels.F32ToBF16(v))
		}
		return b
	}
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func writeJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// maxAbsDiff returns max |a[i] − b[i]|.
func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}
