package sinkscope

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
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
	cfg := `{"architectures":["GPTNeoXForCausalLM"],"hidden_size":8,"num_attention_heads":2,"num_hidden_layers":1,"vocab_size":4,"intermediate_size":8}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := Open(dir, 1)
	if err == nil || !strings.Contains(err.Error(), "GPTNeoXForCausalLM") || !strings.Contains(err.Error(), "LlamaForCausalLM") {
		t.Fatalf("error = %v, want it to name the unknown architecture and list the supported ones", err)
	}
}
