package sinkscope

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/transformer"
)

func TestOpenEveryFixture(t *testing.T) {
	for _, tc := range []struct {
		dir    string
		layers int
		heads  int
		kv     int
	}{
		{"hf/stories260K_hf", 5, 8, 4},
		{"hf/stories260K_hf_bf16", 5, 8, 4},
		{"hf/shakespeare_llama", 4, 8, 4},
		{"hf/olmo_tiny", 3, 4, 4},
		{"hf/olmo_tiny_bf16", 3, 4, 4},
		{"hf/olmo2_tiny", 3, 4, 2},
		{"hf/olmo2_tiny_bf16", 3, 4, 2},
		{"hf/pythia_tiny", 3, 4, 4},
		{"hf/pythia_seq_tiny_bf16", 3, 4, 4},
		{"hf/gpt2_tiny", 3, 4, 4},
		{"hf/qwen2_tiny", 3, 4, 2},
		{"hf/qwen3_tiny", 3, 8, 2},
		{"hf/gemma_tiny", 3, 8, 1},
		{"hf/gemma2_tiny", 4, 4, 2},
		{"hf/gemma3_tiny_bf16", 4, 4, 1},
		{"hf/phi3_tiny", 3, 4, 2},
		{"hf/phi3_longrope_tiny", 3, 4, 2},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			m, ck, err := Open(fixtures.Path(t, tc.dir), 1)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			info := m.Info()
			if info.Layers != tc.layers || info.Heads != tc.heads || info.KVHeads != tc.kv {
				t.Fatalf("Info = %+v, want %d layers, %d heads, %d KV heads", info, tc.layers, tc.heads, tc.kv)
			}
			logits, err := m.Forward([]int{1, 2, 3}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(logits) != 3*info.Vocab {
				t.Fatalf("%d logits, want 3×%d", len(logits), info.Vocab)
			}
		})
	}
}

func TestOpenUnknownArchitecture(t *testing.T) {
	dir := t.TempDir()
	cfg := `{"architectures":["MambaForCausalLM"],"hidden_size":8,"num_attention_heads":2,"num_hidden_layers":1,"vocab_size":4,"intermediate_size":8}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w := []loader.WriteTensor{{Name: "w", DType: loader.F32, Shape: []int{1}, Data: make([]byte, 4)}}
	if err := loader.WriteSafetensors(filepath.Join(dir, loader.WeightsFile), w, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err := Open(dir, 1)
	want := []string{dir, `field "architectures": unknown architecture "MambaForCausalLM"`, "supported: BigramBackcopyTransformer, GPT2LMHeadModel, GPTNeoXForCausalLM, Gemma2ForCausalLM"}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Fatalf("error = %v, want it to contain %q", err, w)
		}
	}
}

// TestExtendEveryFamily: extending a KV cache token by token gives Forward's
// logits on every family (learned positions, windows, soft-caps and fused
// projections included). For Phi-3 LongRoPE the 33rd token moves the model
// to the long factors: as in Hugging Face's generation, the cache is
// recomputed, so positions up to 32 match a 32-token Forward (short factors)
// and later ones a 40-token Forward (long factors at every position).
func TestExtendEveryFamily(t *testing.T) {
	ids := []int{1, 17, 254, 3, 99, 99, 400, 12, 511, 0, 77, 300, 5, 250, 128, 42, 7, 19, 300, 301,
		2, 44, 45, 46, 100, 101, 102, 9, 8, 7, 6, 5, 4, 3, 2, 1, 60, 61, 62, 63}
	for _, name := range []string{"pythia_tiny", "gpt2_tiny", "qwen2_tiny", "qwen3_tiny", "gemma_tiny",
		"gemma2_tiny", "gemma3_tiny", "phi3_tiny", "phi3_longrope_tiny"} {
		t.Run(name, func(t *testing.T) {
			m, ck, err := Open(fixtures.Path(t, "hf/"+name), 1)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			ext := m.(interface {
				NewState() *transformer.State
				Extend(*transformer.State, []int) ([]float32, error)
			})
			V := m.Info().Vocab
			want, err := m.Forward(ids, nil)
			if err != nil {
				t.Fatal(err)
			}
			short := want
			if name == "phi3_longrope_tiny" {
				if short, err = m.Forward(ids[:32], nil); err != nil {
					t.Fatal(err)
				}
			}
			st := ext.NewState()
			got, err := ext.Extend(st, ids[:5])
			if err != nil {
				t.Fatal(err)
			}
			for i := 5; i < len(ids); i++ {
				next, err := ext.Extend(st, ids[i:i+1])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, next...)
			}
			var worst float64
			for i := range ids {
				ref := want
				if i < 32 {
					ref = short
				}
				for j := 0; j < V; j++ {
					worst = max(worst, math.Abs(float64(got[i*V+j]-ref[i*V+j])))
				}
			}
			// float32 summation order differs between one pass and
			// incremental passes only in the attention (keys in blocks).
			if worst > 1e-4 {
				t.Errorf("incremental logits differ from Forward by %.3g", worst)
			}
		})
	}
}

// TestGPT2HubNames: the original GPT-2 Hub file names its tensors without
// the "transformer." prefix and stores the causal-mask buffers h.N.attn.bias
// and h.N.attn.masked_bias. The same weights under those names give the same
// logits, bit for bit.
func TestGPT2HubNames(t *testing.T) {
	src := fixtures.Path(t, "hf/gpt2_tiny")
	ts, err := loader.OpenSafetensors(filepath.Join(src, loader.WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	var out []loader.WriteTensor
	for _, name := range ts.Names() {
		x, _ := ts.Get(name)
		out = append(out, loader.WriteTensor{Name: strings.TrimPrefix(name, "transformer."), DType: x.DType, Shape: x.Shape, Data: x.Bytes()})
	}
	for l := range 3 {
		out = append(out,
			loader.WriteTensor{Name: fmt.Sprintf("h.%d.attn.bias", l), DType: loader.F32, Shape: []int{1, 1, 64, 64}, Data: make([]byte, 4*64*64)},
			loader.WriteTensor{Name: fmt.Sprintf("h.%d.attn.masked_bias", l), DType: loader.F32, Shape: []int{}, Data: make([]byte, 4)})
	}
	dir := t.TempDir()
	if err := loader.WriteSafetensors(filepath.Join(dir, loader.WeightsFile), out, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(src, loader.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, loader.ConfigFile), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	ids := []int{0, 17, 254, 3, 99, 99, 400, 12}
	var logits [2][]float32
	for i, d := range []string{src, dir} {
		m, ck, err := Open(d, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer ck.Close()
		if logits[i], err = m.Forward(ids, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(logits[0], logits[1]) {
		t.Error("un-prefixed names give other logits than transformer.-prefixed ones")
	}
}
