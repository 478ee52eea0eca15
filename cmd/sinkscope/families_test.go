package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// newFamilies are the fixtures of the families beyond Llama and OLMo.
var newFamilies = []string{"pythia_tiny", "pythia_seq_tiny", "gpt2_tiny", "qwen2_tiny", "qwen3_tiny",
	"gemma_tiny", "gemma2_tiny", "gemma3_tiny", "phi3_tiny", "phi3_longrope_tiny"}

// familyRef is the part of a reference file the CLI checks use.
type familyRef struct {
	headsRef
	Logits     [][]float64     `json:"logits"`      // [T][vocab]
	Attention  [][][][]float64 `json:"attention"`   // [L][H][q][0..q]
	LayerTypes []string        `json:"layer_types"` // [L]
}

// visibleFirst is first_attn from the reference attention of one head over
// the queries that see key 0 under a sliding window w (0: all of them).
func visibleFirst(att [][]float64, w int) float64 {
	end := len(att)
	if w > 0 {
		end = min(end, w)
	}
	var s float64
	for q := 1; q < end; q++ {
		s += att[q][0]
	}
	return s / float64(end-1)
}

// familyQuirks are parts of what inspect must say about each fixture.
var familyQuirks = map[string]map[string]string{
	"pythia_tiny":        {"residual": "parallel", "positions": "RoPE on 4 of 16 dims, base 10000", "attention": "fused, per head", "norm": "LayerNorm with weight and bias"},
	"pythia_seq_tiny":    {"residual": "pre-norm", "positions": "RoPE on 4 of 16 dims"},
	"gpt2_tiny":          {"positions": "learned absolute positions (64)", "attention": "fused, blocks [q | k | v], Conv1D [in, out]", "head": "tied", "mlp": "ungated gelu_tanh"},
	"qwen2_tiny":         {"biases": "q, k, v", "positions": "base 1e+06", "head": "tied"},
	"qwen3_tiny":         {"qk_norm": "per head", "attention": "8 heads, 2 KV heads"},
	"gemma_tiny":         {"embed_scale": "8", "mlp": "gated gelu_tanh", "attention": "8 heads, 1 KV heads"},
	"gemma2_tiny":        {"residual": "sandwich", "attn_softcap": "5·tanh", "final_softcap": "30·tanh", "windows": "sliding (window 8): layers 0,2; full: layers 1,3", "score_scale": "0.204124"},
	"gemma3_tiny":        {"windows": "layers 0,1,3; full: layers 2", "positions": "base 1e+06, linear ×8 (layers 2)", "qk_norm": "per head"},
	"phi3_tiny":          {"attention": "fused, blocks", "mlp": "gated silu, intermediate 176, fused gate_up"},
	"phi3_longrope_tiny": {"positions": "longrope: short_factor up to 32 positions, long_factor beyond; cos and sin ×1.18322"},
}

// TestFamiliesCLI runs dump, heads (with --ablate), diff, tokens and inspect on
// every new fixture, f32 and bf16, and compares dump's logits and patterns
// and heads' first_attn and value norms with the reference forward. On
// sliding-window layers first_attn is over the queries that can see key 0.
func TestFamiliesCLI(t *testing.T) {
	for _, name := range newFamilies {
		for _, suffix := range []string{"", "_bf16"} {
			t.Run(name+suffix, func(t *testing.T) {
				dir := fixtures.Path(t, "hf/"+name+suffix)
				var ref familyRef
				fixtures.ReadJSON(t, "reference/"+name+suffix+"_reference.json", &ref)
				ids := idList(ref.InputIDs)
				T, L, H := len(ref.InputIDs), len(ref.BOSAttn), len(ref.BOSAttn[0])
				var cfg struct {
					Window int `json:"sliding_window"`
				}
				b, err := os.ReadFile(filepath.Join(dir, "config.json"))
				if err != nil {
					t.Fatal(err)
				}
				json.Unmarshal(b, &cfg)

				var d dumpJSON
				if err := json.Unmarshal(runDump(t, dir, "--ids", ids, "--hooks", "blocks.*.attn.hook_pattern,hook_logits"), &d); err != nil {
					t.Fatal(err)
				}
				var dLogit, dAttn float64
				lg := d.Tensors["hook_logits"].Data
				V := len(ref.Logits[0])
				for i := range T {
					for j := range V {
						dLogit = math.Max(dLogit, math.Abs(float64(lg[i*V+j])-ref.Logits[i][j]))
					}
				}
				for l := range L {
					p := d.Tensors[fmt.Sprintf("blocks.%d.attn.hook_pattern", l)].Data
					for h := range H {
						for q := range T {
							for k := 0; k <= q; k++ {
								dAttn = math.Max(dAttn, math.Abs(float64(p[(h*T+q)*T+k])-ref.Attention[l][h][q][k]))
							}
						}
					}
				}

				out, _ := runOK(t, "heads", dir, "--ids", ids, "--format", "json", "--ablate", "0.0")
				rows := jsonRows(t, out)
				if len(rows) != L*H {
					t.Fatalf("heads: %d rows, want %d", len(rows), L*H)
				}
				var dFirst, dVal float64
				for _, row := range rows {
					l, h := int(num(t, row, "layer")), int(num(t, row, "head"))
					w := 0
					if ref.LayerTypes != nil && ref.LayerTypes[l] == "sliding_attention" {
						w = cfg.Window
					}
					dFirst = math.Max(dFirst, math.Abs(num(t, row, "first_attn")-visibleFirst(ref.Attention[l][h], w)))
					wo := ref.WOValueNorm[l][h]
					dVal = math.Max(dVal, math.Abs(num(t, row, "value_norm_first")-wo[0])/wo[0])
					if l == 0 && h == 0 {
						if dl := num(t, row, "ablation_dloss"); math.IsNaN(dl) || dl == 0 {
							t.Errorf("--ablate 0.0: Δloss %v, want a nonzero number", row["ablation_dloss"])
						}
					}
				}
				diffOut, _ := runOK(t, "diff", dir, "--ids", ids, "--format", "json", "--no-cache")
				drows := jsonRows(t, diffOut)
				if len(drows) != L*H {
					t.Fatalf("diff: %d rows, want %d", len(drows), L*H)
				}
				for i, r := range drows {
					if r["first_attn"] != rows[i]["first_attn"] {
						t.Errorf("diff row %d: first_attn %v, heads %v", i, r["first_attn"], rows[i]["first_attn"])
					}
				}
				tok, _ := runOK(t, "tokens", dir, "--ids", ids, "--format", "json")
				if n := len(jsonRows(t, tok)); n != L*T {
					t.Errorf("tokens: %d rows, want %d", n, L*T)
				}
				quirks, _ := runInspect(t, dir)["quirks"].(map[string]any)
				for k, want := range familyQuirks[name] {
					if got, _ := quirks[k].(string); !strings.Contains(got, want) {
						t.Errorf("inspect: quirks.%s = %q, want it to contain %q", k, got, want)
					}
				}
				t.Logf("dump logits %.3g, pattern %.3g (abs); heads first_attn %.3g (abs), value_norm_first %.3g (rel)", dLogit, dAttn, dFirst, dVal)
				if dLogit > 1e-4 || dAttn > 1e-5 || dFirst > 1e-5 || dVal > 1e-4 {
					t.Errorf("logits %.3g (≤ 1e-4), pattern %.3g (≤ 1e-5), first_attn %.3g (≤ 1e-5), value norm %.3g (≤ 1e-4 rel)", dLogit, dAttn, dFirst, dVal)
				}
			})
		}
	}
}

// TestDiffPythiaRevisions lays out a Hugging Face cache of a Pythia model
// with revisions step0, step1, step512 and step143000 (Pythia's names; each a
// differently scaled copy of pythia_tiny) and checks that diff --revisions
// orders them by step, not by name.
func TestDiffPythiaRevisions(t *testing.T) {
	src := fixtures.Path(t, "hf/pythia_tiny")
	root := t.TempDir()
	repo := filepath.Join(root, "models--EleutherAI--pythia-tiny")
	revs := []string{"step143000", "step0", "step512", "step1"}
	for i, rev := range revs {
		sha := strings.Repeat(fmt.Sprintf("%02x", i+0xb1), 20)
		snap := filepath.Join(repo, "snapshots", sha)
		if err := os.MkdirAll(snap, 0o755); err != nil {
			t.Fatal(err)
		}
		writeScaledQKV(t, src, snap, 1+0.5*float32(i))
		os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
		os.WriteFile(filepath.Join(repo, "refs", rev), []byte(sha), 0o644)
	}
	t.Setenv("HF_HUB_CACHE", root)
	t.Setenv("HF_HOME", "")
	out, _ := runOK(t, "diff", "--revisions", "EleutherAI/pythia-tiny@step*", "--ids", "0,17,254,3,99,99,400,12", "--format", "json", "--no-cache")
	rows := jsonRows(t, out)
	const heads = 3 * 4
	if len(rows) != 4*heads {
		t.Fatalf("%d rows, want %d", len(rows), 4*heads)
	}
	for i, want := range []string{"step0", "step1", "step512", "step143000"} {
		r := rows[i*heads]
		if r["revision"] != want || num(t, r, "step") != float64(stepOf(want)) {
			t.Errorf("checkpoint %d: revision %v step %v, want %s", i, r["revision"], r["step"], want)
		}
	}
}

// stepOf reads the number after "step" in a Pythia revision name.
func stepOf(rev string) int {
	var n int
	fmt.Sscanf(rev, "step%d", &n)
	return n
}

// writeScaledQKV writes writeScaled's copy of src into the snapshot dst of
// a Hugging Face cache, its files linked into the cache's blobs as
// huggingface_hub does.
func writeScaledQKV(t *testing.T, src, dst string, s float32) {
	t.Helper()
	tmp := t.TempDir()
	writeScaled(t, src, tmp, s)
	blobs := filepath.Join(filepath.Dir(filepath.Dir(dst)), "blobs")
	os.MkdirAll(blobs, 0o755)
	for _, f := range []string{"model.safetensors", "config.json"} {
		b, err := os.ReadFile(filepath.Join(tmp, f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		blob := hex.EncodeToString(sum[:])
		if err := os.WriteFile(filepath.Join(blobs, blob), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..", "..", "blobs", blob), filepath.Join(dst, f)); err != nil {
			t.Fatal(err)
		}
	}
}
