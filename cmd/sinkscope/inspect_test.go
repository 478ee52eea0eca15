package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// inspectFixtures are the shared HF checkpoints with what inspect must say.
var inspectFixtures = []struct {
	dir                   string
	arch                  string
	layers, heads, kv, hd int
	dtype                 string
	elemSize              int64
	bos                   string // bos_policy
	clip                  any
}{
	{"hf/stories260K_hf", "LlamaForCausalLM", 5, 8, 4, 8, "F32", 4, "prepend", nil},
	{"hf/stories260K_hf_bf16", "LlamaForCausalLM", 5, 8, 4, 8, "BF16", 2, "prepend", nil},
	{"hf/olmo_tiny", "OlmoForCausalLM", 3, 4, 4, 16, "F32", 4, "unknown", 1.0},
	{"hf/olmo_tiny_bf16", "OlmoForCausalLM", 3, 4, 4, 16, "BF16", 2, "unknown", 1.0},
	{"hf/olmo2_tiny", "Olmo2ForCausalLM", 3, 4, 2, 16, "F32", 4, "unknown", nil},
	{"hf/olmo2_tiny_bf16", "Olmo2ForCausalLM", 3, 4, 2, 16, "BF16", 2, "unknown", nil},
	{"hf/shakespeare_llama", "LlamaForCausalLM", 4, 8, 4, 16, "F32", 4, "prepend", nil},
	{"hf/shakespeare_llama_bf16", "LlamaForCausalLM", 4, 8, 4, 16, "BF16", 2, "prepend", nil},
}

// runInspect runs "inspect args... --format json" and decodes its one row.
func runInspect(t *testing.T, args ...string) map[string]any {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(append([]string{"inspect", "--format", "json"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("inspect %v: exit %d: %s", args, code, errOut.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Fatalf("inspect --format json printed %d lines, want 1: %s", n, out.String())
	}
	var row map[string]any
	if err := json.Unmarshal(out.Bytes(), &row); err != nil {
		t.Fatalf("inspect output is not JSON: %v\n%s", err, out.String())
	}
	return row
}

// dataBytes is the size of a safetensors file's data section, read from the
// file independently of the loader: the total parameter bytes.
func dataBytes(t *testing.T, path string) int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return int64(len(b)) - 8 - int64(binary.LittleEndian.Uint64(b))
}

func TestInspectFixtures(t *testing.T) {
	for _, fx := range inspectFixtures {
		t.Run(filepath.Base(fx.dir), func(t *testing.T) {
			dir := fixtures.Path(t, fx.dir)
			const T = 100
			row := runInspect(t, dir, "--seq-len", "100")
			var cfg map[string]any
			b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			json.Unmarshal(b, &cfg)
			nbytes := dataBytes(t, filepath.Join(dir, "model.safetensors"))
			d, ff, vocab := cfg["hidden_size"].(float64), cfg["intermediate_size"].(float64), cfg["vocab_size"].(float64)
			H, KV, hd := float64(fx.heads), float64(fx.kv), float64(fx.hd)
			// One layer's float32 activations: 4 [T,d] buffers, q and z
			// [T,H,hd], k and v [T,KV,hd], scores and pattern of a query
			// block per head [H,96,T], each head's keys and values packed
			// in 32-column blocks ([128][hd] and [T][32·⌈hd/32⌉] at T =
			// 100), MLP gate (twice) and up [T,ff] (T is under the 512 of a
			// chunk); logits [T,vocab] (under the 256 of a chunk). Exact
			// integers, so ==.
			packed := H * (128*hd + math.Ceil(hd/32)*32*T)
			act := 4 * (4*T*d + 2*T*H*hd + 2*T*KV*hd + 2*H*96*T + packed + 3*T*ff)
			logits := 4 * T * vocab
			want := map[string]any{
				"architecture": fx.arch, "layers": float64(fx.layers), "heads": H, "kv_heads": KV,
				"head_dim": hd, "d_model": d, "intermediate": ff, "vocab": vocab, "dtype": fx.dtype,
				"bytes": float64(nbytes), "parameters": float64(nbytes / fx.elemSize), "files": 1.0,
				"bos_policy": fx.bos, "clip_qkv": fx.clip, "rope_theta": cfg["rope_theta"], "rope_scaling": nil,
				"tied_embeddings": cfg["tie_word_embeddings"], "seq_len": float64(T),
				"activation_bytes": act, "logits_bytes": logits, "peak_memory_bytes": float64(nbytes) + act + logits,
			}
			for k, v := range want {
				if row[k] != v {
					t.Errorf("%s = %v (%T), want %v (%T)", k, row[k], row[k], v, v)
				}
			}
			if tok := row["tokenizer"]; (fx.bos == "prepend") != (tok != nil) {
				t.Errorf("tokenizer = %v with bos_policy %s", tok, fx.bos)
			}
			if fx.bos == "prepend" && row["bos_token_id"] != 1.0 {
				t.Errorf("bos_token_id = %v, want 1", row["bos_token_id"])
			}

			// The table names the same facts.
			var out, errOut bytes.Buffer
			if code := run([]string{"inspect", dir}, &out, &errOut); code != 0 {
				t.Fatalf("table: exit %d: %s", code, errOut.String())
			}
			for _, s := range []string{fx.arch, "kv_heads", "peak_memory_bytes", fx.dtype} {
				if !strings.Contains(out.String(), s) {
					t.Errorf("table lacks %q:\n%s", s, out.String())
				}
			}
		})
	}
}

// TestInspectHubCache builds a Hugging Face cache tree (snapshot files are
// symlinks into blobs/, refs name commits) and inspects org/name@rev.
func TestInspectHubCache(t *testing.T) {
	src := fixtures.Path(t, "hf/stories260K_hf_bf16")
	root := t.TempDir()
	repo := filepath.Join(root, "models--org--stories")
	sha := strings.Repeat("0123456789", 4)
	snap := filepath.Join(repo, "snapshots", sha)
	for _, d := range []string{snap, filepath.Join(repo, "blobs"), filepath.Join(repo, "refs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, name := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		blob := strings.Repeat(string(rune('a'+i)), 64)
		if err := os.WriteFile(filepath.Join(repo, "blobs", blob), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "blobs", blob), filepath.Join(snap, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "refs", "step1000"), []byte(sha), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_HUB_CACHE", root)

	for _, arg := range []string{"org/stories@step1000", "org/stories@" + sha} {
		row := runInspect(t, arg)
		if row["model"] != arg || row["dir"] != snap || row["architecture"] != "LlamaForCausalLM" ||
			row["dtype"] != "BF16" || row["bos_policy"] != "prepend" || row["parameters"] != 260032.0 {
			t.Errorf("inspect %s: %v", arg, row)
		}
	}

	// A revision that is not cached: exit 1, and the message says what exists
	// and how to get it.
	var out, errOut bytes.Buffer
	if code := run([]string{"inspect", "org/stories@main"}, &out, &errOut); code != 1 {
		t.Errorf("uncached revision: exit %d, want 1", code)
	}
	for _, s := range []string{`revision "main" is not in the cache`, "cached refs: step1000", "huggingface-cli download org/stories --revision main"} {
		if !strings.Contains(errOut.String(), s) {
			t.Errorf("stderr lacks %q: %s", s, errOut.String())
		}
	}
}

func TestInspectUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"inspect"}, 2, "want exactly one MODEL argument"},
		{[]string{"inspect", "a", "b"}, 2, "want exactly one MODEL argument"},
		{[]string{"inspect", "--format", "xml", "."}, 2, `--format "xml"`},
		{[]string{"inspect", "--seq-len", "0", "."}, 2, "--seq-len 0"},
		{[]string{"inspect", t.TempDir()}, 1, "no config.json"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		if code := run(c.args, &out, &errOut); code != c.code || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d containing %q", c.args, code, errOut.String(), c.code, c.want)
		}
	}
}
