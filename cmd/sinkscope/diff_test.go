package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/loader"
)

// diffIDs is the one sequence the series tests analyse (fast: one forward
// pass per checkpoint).
const diffIDs = "1,403,407,261,378,425,318,271,440,263,282,316"

// writeScaled writes a copy of the checkpoint src into dst with every
// q_proj and k_proj weight (GPT-NeoX: the fused query_key_value) multiplied
// by s, which scales the attention logits by s² and so moves first_attn: a
// stand-in for training progress.
func writeScaled(t *testing.T, src, dst string, s float32) {
	t.Helper()
	ts, err := loader.OpenSafetensors(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	var out []loader.WriteTensor
	for _, name := range ts.Names() {
		tn, _ := ts.Get(name)
		data := append([]byte(nil), tn.Bytes()...)
		if tn.DType != loader.F32 {
			t.Fatalf("%s: %s is %v, want F32", src, name, tn.DType)
		}
		if strings.HasSuffix(name, "q_proj.weight") || strings.HasSuffix(name, "k_proj.weight") || strings.HasSuffix(name, "query_key_value.weight") {
			for i := 0; i < len(data); i += 4 {
				v := math.Float32frombits(binary.LittleEndian.Uint32(data[i:]))
				binary.LittleEndian.PutUint32(data[i:], math.Float32bits(v*s))
			}
		}
		out = append(out, loader.WriteTensor{Name: name, DType: tn.DType, Shape: tn.Shape, Data: data})
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := loader.WriteSafetensors(filepath.Join(dst, "model.safetensors"), out, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.json", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(src, f)); err == nil {
			copyFile(t, filepath.Join(src, f), filepath.Join(dst, f))
		}
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// seriesScales are the checkpoints of the test series, out of step order on
// purpose.
var seriesScales = []struct {
	name  string
	scale float32
}{
	{"step1000-tokens4M", 1.5},
	{"step500-tokens2M", 0.5},
	{"step2000-tokens8M", 3},
}

// buildSeries writes the test series into a new directory: the three scaled
// checkpoints, step3000-tokens12M as a byte-identical copy of
// step2000-tokens8M, and a directory that is not a checkpoint.
func buildSeries(t *testing.T) string {
	t.Helper()
	src := fixtures.Path(t, "hf/stories260K_hf")
	dir := t.TempDir()
	for _, c := range seriesScales {
		writeScaled(t, src, filepath.Join(dir, c.name), c.scale)
	}
	dup := filepath.Join(dir, "step3000-tokens12M")
	os.MkdirAll(dup, 0o755)
	for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
		copyFile(t, filepath.Join(dir, "step2000-tokens8M", f), filepath.Join(dup, f))
	}
	os.MkdirAll(filepath.Join(dir, "notes"), 0o755)
	return dir
}

// runCode runs the CLI and returns the exit code and outputs.
func runCode(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestDiffSeries checks the series rows against `heads` on each checkpoint
// alone (first_attn equal to the last bit: the same analysis of the same
// weights), the step order, the duplicate and the cache.
func TestDiffSeries(t *testing.T) {
	dir := buildSeries(t)
	cache := filepath.Join(t.TempDir(), "cache")
	out, errs := runOK(t, "diff", "--series", dir, "--ids", diffIDs, "--format", "json", "--cache", cache)
	rows := jsonRows(t, out)
	const heads = 5 * 8 // stories260K: 5 layers × 8 heads
	if len(rows) != 4*heads {
		t.Fatalf("%d rows, want %d", len(rows), 4*heads)
	}
	wantOrder := []struct {
		rev          string
		step, tokens float64
	}{
		{"step500-tokens2M", 500, 2e6}, {"step1000-tokens4M", 1000, 4e6},
		{"step2000-tokens8M", 2000, 8e6}, {"step3000-tokens12M", 3000, 12e6},
	}
	for i, row := range rows {
		w := wantOrder[i/heads]
		if row["revision"] != w.rev || num(t, row, "step") != w.step || num(t, row, "tokens_seen") != w.tokens ||
			row["checkpoint"] != filepath.Join(dir, w.rev) {
			t.Fatalf("row %d: checkpoint %v revision %v step %v tokens %v; want %s, step %g, tokens %g",
				i, row["checkpoint"], row["revision"], row["step"], row["tokens_seen"], w.rev, w.step, w.tokens)
		}
		if l, h := int(num(t, row, "layer")), int(num(t, row, "head")); l*8+h != i%heads {
			t.Fatalf("row %d: head %d.%d out of order", i, l, h)
		}
	}
	// Exactly the numbers of `heads` on each checkpoint alone.
	for k, w := range wantOrder[:3] {
		hout, _ := runOK(t, "heads", filepath.Join(dir, w.rev), "--ids", diffIDs, "--format", "json")
		hrows := jsonRows(t, hout)
		for i, hr := range hrows {
			dr := rows[k*heads+i]
			for _, field := range []string{"first_attn", "first_attn_std", "attn_mass_first", "dlogit_first", "value_norm_first", "head_out_norm"} {
				if hr[field] != dr[field] {
					t.Errorf("%s head %v.%v: %s = %v in diff, %v in heads", w.rev, hr["layer"], hr["head"], field, dr[field], hr[field])
				}
			}
			if hr["class"] != dr["class"] {
				t.Errorf("%s head %v.%v: class %v in diff, %v in heads", w.rev, hr["layer"], hr["head"], dr["class"], hr["class"])
			}
		}
	}
	// The series is not flat: scaling q and k by 0.5 → 3 moves first_attn.
	var d float64
	for i := 0; i < heads; i++ {
		d += math.Abs(num(t, rows[2*heads+i], "first_attn") - num(t, rows[i], "first_attn"))
	}
	if d/heads < 0.01 {
		t.Errorf("mean |Δfirst_attn| between step 500 and step 2000 = %.4f; want ≥ 0.01 (the fixture series should differ)", d/heads)
	}
	// The duplicate: flagged naming both, results reused (same numbers), not computed.
	if n := strings.Count(errs, ": computed"); n != 3 {
		t.Errorf("%d checkpoints computed, want 3 (the duplicate reused):\n%s", n, errs)
	}
	if !strings.Contains(errs, "step2000-tokens8M and "+filepath.Join(dir, "step3000-tokens12M")+" are the same checkpoint") {
		t.Errorf("no duplicate warning naming both checkpoints:\n%s", errs)
	}
	for i := 0; i < heads; i++ {
		if a, b := rows[2*heads+i]["first_attn"], rows[3*heads+i]["first_attn"]; a != b {
			t.Errorf("head %d: duplicate first_attn %v, original %v", i, b, a)
		}
	}
	// A second run reads every result from the cache: identical bytes.
	out2, errs2 := runOK(t, "diff", "--series", dir, "--ids", diffIDs, "--format", "json", "--cache", cache)
	if out2 != out {
		t.Error("second run (cached) printed different rows")
	}
	if c, n := strings.Count(errs2, ": cached"), strings.Count(errs2, ": computed"); c != 3 || n != 0 {
		t.Errorf("second run: %d cached, %d computed; want 3, 0:\n%s", c, n, errs2)
	}
	if ents, _ := filepath.Glob(filepath.Join(cache, "*.gob")); len(ents) != 3 {
		t.Errorf("cache holds %d results, want 3 (one per distinct checkpoint)", len(ents))
	}
	if ents, _ := os.ReadDir(filepath.Join(cache, "ids")); len(ents) != 4 {
		t.Errorf("cache holds %d identity memos, want 4 (one per checkpoint directory)", len(ents))
	}
	// A memo is trusted only while the files are unchanged: rewriting
	// step500's weights with other values (same size) makes it a new checkpoint.
	writeScaled(t, fixtures.Path(t, "hf/stories260K_hf"), filepath.Join(dir, "step500-tokens2M"), 0.25)
	later := time.Now().Add(time.Hour) // a distinct mtime even where timestamps are coarse
	os.Chtimes(filepath.Join(dir, "step500-tokens2M", "model.safetensors"), later, later)
	_, errs4 := runOK(t, "diff", "--series", dir, "--ids", diffIDs, "--format", "json", "--cache", cache)
	if c, n := strings.Count(errs4, ": cached"), strings.Count(errs4, ": computed"); c != 2 || n != 1 || !strings.Contains(errs4, "step500-tokens2M: computed") {
		t.Errorf("after rewriting step500: %d cached, %d computed; want 2, 1 (step500):\n%s", c, n, errs4)
	}
	writeScaled(t, fixtures.Path(t, "hf/stories260K_hf"), filepath.Join(dir, "step500-tokens2M"), 0.5)
	// Changing the inputs changes the key: computed again.
	_, errs3 := runOK(t, "diff", "--series", dir, "--ids", diffIDs+",300", "--format", "json", "--cache", cache)
	if n := strings.Count(errs3, ": computed"); n != 3 {
		t.Errorf("other --ids: %d computed, want 3", n)
	}
	// Default cache: inside the series directory.
	runOK(t, "diff", "--series", dir, "--ids", diffIDs, "--format", "csv")
	if ents, _ := filepath.Glob(filepath.Join(dir, ".sinkscope-cache", "*.gob")); len(ents) != 3 {
		t.Errorf("default cache %s: %d results, want 3", filepath.Join(dir, ".sinkscope-cache"), len(ents))
	}
}

// TestDiffTable checks the table summary's transitions against the classes
// of the JSON rows, and the plot.
func TestDiffTable(t *testing.T) {
	dir := buildSeries(t)
	args := []string{"diff", filepath.Join(dir, "step2000-tokens8M"), filepath.Join(dir, "step500-tokens2M"),
		filepath.Join(dir, "step1000-tokens4M"), "--ids", diffIDs, "--no-cache"}
	out, _ := runOK(t, append(args, "--format", "json")...)
	rows := jsonRows(t, out)
	seq := map[string]string{} // head → class letters in step order
	for _, r := range rows {
		h := fmt.Sprintf("%v.%v", r["layer"], r["head"])
		seq[h] += strings.ToUpper(r["class"].(string)[:1])
	}
	pngPath := filepath.Join(t.TempDir(), "series.png")
	table, _ := runOK(t, append(args, "--plot", pngPath, "--heads", "0.0,4.7")...)
	if !strings.Contains(table, "per-head transitions") {
		t.Fatalf("no transitions in the table output:\n%s", table)
	}
	for h, s := range seq {
		var want string
		switch {
		case s == "DDD":
			want = fmt.Sprintf("%-6s %s  dormant throughout", h, s)
		case strings.HasSuffix(s, "DD"):
			want = fmt.Sprintf("%-6s %s  dormant from step 1000", h, s)
		case strings.HasSuffix(s, "D"):
			want = fmt.Sprintf("%-6s %s  dormant from step 2000", h, s)
		default:
			want = fmt.Sprintf("%-6s %s  not dormant at the last checkpoint", h, s)
		}
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// The fixture series has heads that change: with q and k scaled by 0.5,
	// 1.5 and 3, heads 4.4 and 4.5 go active → mixed → dormant (first_attn
	// rises with the logit scale) and none is dormant throughout.
	for _, h := range []string{"4.4", "4.5"} {
		if seq[h] != "AMD" {
			t.Errorf("head %s: classes %q over steps 500, 1000, 2000; want AMD", h, seq[h])
		}
	}
	if !strings.Contains(table, "dormant at the last checkpoint: 2 of 40 heads (0 throughout, 2 became dormant during the series)") {
		t.Errorf("transition counts missing or wrong:\n%s", table[strings.Index(table, "per-head"):])
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("--plot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 990 || b.Dy() != 462 {
		t.Errorf("plot %d×%d px, want 990×462 (7 in + 2 in of legend × 4.2 in at 110 dpi, one panel)", b.Dx(), b.Dy())
	}
}

// buildHubCache lays out a Hugging Face cache holding org/tiny with refs
// step500-tokens2M, step1000-tokens4M and main (= step1000), files linked
// into blobs/ under their sha256 as huggingface_hub does.
func buildHubCache(t *testing.T, series string) string {
	t.Helper()
	root := t.TempDir()
	repo := filepath.Join(root, "models--org--tiny")
	for i, rev := range []string{"step500-tokens2M", "step1000-tokens4M"} {
		sha := strings.Repeat(fmt.Sprintf("%02x", i+0xa1), 20)
		snap := filepath.Join(repo, "snapshots", sha)
		os.MkdirAll(snap, 0o755)
		os.MkdirAll(filepath.Join(repo, "blobs"), 0o755)
		for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
			b, err := os.ReadFile(filepath.Join(series, rev, f))
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			blob := hex.EncodeToString(sum[:])
			if err := os.WriteFile(filepath.Join(repo, "blobs", blob), b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join("..", "..", "blobs", blob), filepath.Join(snap, f)); err != nil {
				t.Fatal(err)
			}
		}
		os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
		os.WriteFile(filepath.Join(repo, "refs", rev), []byte(sha), 0o644)
		if i == 1 {
			os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(sha+"\n"), 0o644)
		}
	}
	return root
}

// TestDiffRevisions resolves org/name@GLOB in a Hugging Face cache and
// compares with the same checkpoints read as directories.
func TestDiffRevisions(t *testing.T) {
	dir := buildSeries(t)
	t.Setenv("HF_HUB_CACHE", buildHubCache(t, dir))
	t.Setenv("HF_HOME", "")
	out, _ := runOK(t, "diff", "--revisions", "org/tiny@step*", "--ids", diffIDs, "--format", "json", "--no-cache")
	rows := jsonRows(t, out)
	dirOut, _ := runOK(t, "diff", "--series", dir, "--ids", diffIDs, "--format", "json", "--no-cache")
	dirRows := jsonRows(t, dirOut)
	if len(rows) != 2*40 {
		t.Fatalf("%d rows, want 80", len(rows))
	}
	for i, r := range rows {
		want := []string{"step500-tokens2M", "step1000-tokens4M"}[i/40]
		if r["revision"] != want || r["checkpoint"] != "org/tiny@"+want {
			t.Fatalf("row %d: checkpoint %v revision %v, want org/tiny@%s", i, r["checkpoint"], r["revision"], want)
		}
		if r["first_attn"] != dirRows[i]["first_attn"] {
			t.Errorf("row %d: first_attn %v from the hub cache, %v from the directory", i, r["first_attn"], dirRows[i]["first_attn"])
		}
	}
	// main and step1000 are one snapshot: flagged through the hub's blob hashes.
	_, errs := runOK(t, "diff", "org/tiny@main", "org/tiny@step1000-tokens4M", "--ids", diffIDs, "--format", "csv", "--no-cache")
	if !strings.Contains(errs, "org/tiny@step1000-tokens4M and org/tiny@main are the same checkpoint (same config.json and hub blob hashes") ||
		strings.Count(errs, ": computed") != 1 {
		t.Errorf("duplicate through hub blobs not flagged:\n%s", errs)
	}
	// A name without a step: step and tokens_seen are null.
	mainOut, _ := runOK(t, "diff", "org/tiny@main", "--ids", diffIDs, "--format", "json", "--no-cache")
	if r := jsonRows(t, mainOut)[0]; r["revision"] != "main" || r["step"] != nil || r["tokens_seen"] != nil {
		t.Errorf("org/tiny@main: revision %v, step %v, tokens_seen %v; want main, null, null", r["revision"], r["step"], r["tokens_seen"])
	}
	code, _, errs := runCode("diff", "--revisions", "org/tiny@stage2*", "--ids", diffIDs)
	if code != 1 || !strings.Contains(errs, `no cached revision of org/tiny matches "stage2*" (cached refs: main, step1000-tokens4M, step500-tokens2M)`) {
		t.Errorf("glob matching nothing: exit %d, %s", code, errs)
	}
}

// TestDiffSeriesLinks follows symbolic links to checkpoint directories in
// --series (a series assembled from checkpoints kept elsewhere).
func TestDiffSeriesLinks(t *testing.T) {
	src := fixtures.Path(t, "hf/stories260K_hf")
	abs, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(abs, filepath.Join(dir, "step7-tokens1M")); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "README"), []byte("not a checkpoint"), 0o644)
	out, _ := runOK(t, "diff", "--series", dir, "--ids", diffIDs, "--format", "json", "--no-cache")
	rows := jsonRows(t, out)
	if len(rows) != 40 || num(t, rows[0], "step") != 7 || num(t, rows[0], "tokens_seen") != 1e6 {
		t.Fatalf("%d rows (want 40), first %v", len(rows), rows[0])
	}
}

func TestDiffErrors(t *testing.T) {
	src := fixtures.Path(t, "hf/stories260K_hf")
	empty := t.TempDir()
	mixed := t.TempDir()
	writeScaled(t, src, filepath.Join(mixed, "step100"), 1)
	toy := filepath.Join(mixed, "step200")
	os.MkdirAll(toy, 0o755)
	for _, f := range []string{"config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "bbtoy", "builtin", f)) // the built-in toy checkpoint
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(toy, f), b, 0o644)
	}
	broken := t.TempDir()
	writeScaled(t, src, filepath.Join(broken, "step100"), 1)
	os.MkdirAll(filepath.Join(broken, "step200"), 0o755)
	t.Setenv("HF_HUB_CACHE", t.TempDir())
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no series", []string{"diff"}, 2, "give the series one way"},
		{"two ways", []string{"diff", src, "--series", empty}, 2, "give the series one way"},
		{"empty series", []string{"diff", "--series", empty}, 1, "holds no checkpoint directories"},
		{"missing checkpoint", []string{"diff", src, filepath.Join(empty, "step5")}, 1, "checkpoint " + filepath.Join(empty, "step5")},
		{"checkpoint dir without config", []string{"diff", "--series", broken}, 1, "checkpoint step200 has no config.json"},
		{"architecture change", []string{"diff", "--series", mixed}, 1,
			filepath.Join(mixed, "step100") + " is LlamaForCausalLM with 5 layers × 8 heads, but " + filepath.Join(mixed, "step200") + " is BigramBackcopyTransformer"},
		{"revisions without glob", []string{"diff", "--revisions", "org/tiny"}, 2, "want org/name@GLOB"},
		{"bad glob", []string{"diff", "--revisions", "org/tiny@[", "--ids", diffIDs}, 2, "bad glob"},
		{"model not cached", []string{"diff", "--revisions", "org/none@step*"}, 1, "has no org/none"},
		{"heads without plot", []string{"diff", src, "--heads", "1.1"}, 2, "--heads \"1.1\" needs --plot"},
		{"plot head outside", []string{"diff", src, "--plot", filepath.Join(empty, "x.png"), "--heads", "9.0"}, 2, "head 9.0 is outside the series"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := runCode(c.args...)
			if code != c.code || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, c.code, c.want)
			}
		})
	}
}
