package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sinkscope/sinkscope/loader"
)

// synthShape is a real model's shape, for a synthetic checkpoint of random
// bf16 weights with the real tensor names.
type synthShape struct {
	name                                     string
	config                                   map[string]any
	d, ff, heads, kv, headDim, vocab, layers int
	qkvBias, sandwich, tied                  bool
}

var synthShapes = []synthShape{
	{name: "llama2-7b", d: 4096, ff: 11008, heads: 32, kv: 32, headDim: 128, vocab: 32000, layers: 2,
		config: map[string]any{"architectures": []string{"LlamaForCausalLM"}, "rms_norm_eps": 1e-5, "max_position_embeddings": 4096}},
	{name: "qwen2.5-7b", d: 3584, ff: 18944, heads: 28, kv: 4, headDim: 128, vocab: 152064, layers: 2, qkvBias: true,
		config: map[string]any{"architectures": []string{"Qwen2ForCausalLM"}, "rms_norm_eps": 1e-6, "rope_theta": 1e6,
			"max_position_embeddings": 32768, "use_sliding_window": false, "tie_word_embeddings": false}},
	{name: "gemma2-9b", d: 3584, ff: 14336, heads: 16, kv: 8, headDim: 256, vocab: 256000, layers: 2, sandwich: true, tied: true,
		config: map[string]any{"architectures": []string{"Gemma2ForCausalLM"}, "rms_norm_eps": 1e-6, "query_pre_attn_scalar": 256,
			"sliding_window": 4096, "attn_logit_softcapping": 50.0, "final_logit_softcapping": 30.0,
			"hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 8192, "tie_word_embeddings": true}},
}

// write stores the checkpoint in dir with weights N(0, 0.02)-like noise (a
// uniform draw of that spread is enough for timing) and returns its size.
func (s synthShape) write(t *testing.T, dir string) int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	var ws []loader.WriteTensor
	add := func(name string, one bool, shape ...int) {
		n := 1
		for _, v := range shape {
			n *= v
		}
		data := make([]byte, 2*n)
		for i := 0; i < n; i++ {
			v := float32(rng.Float64()-0.5) * 0.07
			if one {
				v += 1
			}
			binary.LittleEndian.PutUint16(data[2*i:], uint16(math.Float32bits(v)>>16))
		}
		ws = append(ws, loader.WriteTensor{Name: name, DType: loader.BF16, Shape: shape, Data: data})
	}
	q, kv := s.heads*s.headDim, s.kv*s.headDim
	add("model.embed_tokens.weight", false, s.vocab, s.d)
	if !s.tied {
		add("lm_head.weight", false, s.vocab, s.d)
	}
	add("model.norm.weight", true, s.d)
	for l := range s.layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"self_attn.q_proj.weight", false, q, s.d)
		add(p+"self_attn.k_proj.weight", false, kv, s.d)
		add(p+"self_attn.v_proj.weight", false, kv, s.d)
		add(p+"self_attn.o_proj.weight", false, s.d, q)
		if s.qkvBias {
			add(p+"self_attn.q_proj.bias", false, q)
			add(p+"self_attn.k_proj.bias", false, kv)
			add(p+"self_attn.v_proj.bias", false, kv)
		}
		add(p+"mlp.gate_proj.weight", false, s.ff, s.d)
		add(p+"mlp.up_proj.weight", false, s.ff, s.d)
		add(p+"mlp.down_proj.weight", false, s.d, s.ff)
		add(p+"input_layernorm.weight", true, s.d)
		add(p+"post_attention_layernorm.weight", true, s.d)
		if s.sandwich {
			add(p+"pre_feedforward_layernorm.weight", false, s.d)
			add(p+"post_feedforward_layernorm.weight", false, s.d)
		}
	}
	cfg := map[string]any{"hidden_size": s.d, "intermediate_size": s.ff, "num_attention_heads": s.heads, "num_key_value_heads": s.kv,
		"head_dim": s.headDim, "vocab_size": s.vocab, "num_hidden_layers": s.layers, "torch_dtype": "bfloat16"}
	for k, v := range s.config {
		cfg[k] = v
	}
	os.MkdirAll(dir, 0o755)
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := loader.WriteSafetensors(path, ws, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestFamilyBench (opt in: SINKSCOPE_FAMILY_BENCH=1; a few GB of disk and
// some minutes) writes 2-layer Llama-2-7B-, Qwen2.5-7B- and Gemma-2-9B-shaped
// bf16 checkpoints and runs `sinkscope bench` on each in a fresh process, one
// after the other: GFLOP/s of the new families against the Llama path on the
// same machine in one run, and peak RSS against 1.3 × file size + 1 GB.
func TestFamilyBench(t *testing.T) {
	if os.Getenv("SINKSCOPE_FAMILY_BENCH") == "" {
		t.Skip("set SINKSCOPE_FAMILY_BENCH=1 to write the synthetic 7B-shaped checkpoints and time them")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "sinkscope")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tokens := os.Getenv("SINKSCOPE_FAMILY_BENCH_TOKENS")
	if tokens == "" {
		tokens = "128"
	}
	keep := os.Getenv("SINKSCOPE_FAMILY_BENCH_KEEP") // a directory to leave the checkpoints in
	var llamaGF float64
	for _, s := range synthShapes {
		dir := filepath.Join(tmp, s.name)
		if keep != "" {
			dir = filepath.Join(keep, s.name)
		}
		size := s.write(t, dir)
		out, err := exec.Command(bin, "bench", dir, "--tokens", tokens, "--warmup", "1", "--repeat", "3", "--threads", "2").Output()
		if err != nil {
			t.Fatalf("%s: bench: %v", s.name, err)
		}
		var r struct {
			GFLOPs float64 `json:"gflops"`
			RSS    float64 `json:"peak_rss_mb"`
			Sec    float64 `json:"forward_s_median"`
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("%s: %v: %s", s.name, err, out)
		}
		limit := (1.3*float64(size) + 1e9) / 1e6
		if s.name == "llama2-7b" {
			llamaGF = r.GFLOPs
		}
		t.Logf("%-11s file %6.0f MB  forward %.3f s  %6.1f GFLOP/s (%.2f× Llama)  peak RSS %6.0f MB (limit %.0f MB)",
			s.name, float64(size)/1e6, r.Sec, r.GFLOPs, r.GFLOPs/llamaGF, r.RSS, limit)
		if r.RSS > limit {
			t.Errorf("%s: peak RSS %.0f MB exceeds 1.3 × file + 1 GB = %.0f MB", s.name, r.RSS, limit)
		}
		if r.GFLOPs < 0.85*llamaGF {
			t.Errorf("%s: %.1f GFLOP/s is more than 15%% below the Llama path's %.1f", s.name, r.GFLOPs, llamaGF)
		}
		if keep == "" {
			os.RemoveAll(dir)
		}
	}
}
