package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope"

	"github.com/sinkscope/sinkscope/internal/ckptedit"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/metrics"
)

// runOK runs the CLI and fails the test unless it exits 0.
func runOK(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("sinkscope %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String(), errb.String()
}

// jsonRows parses JSON Lines output.
func jsonRows(t *testing.T, s string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", sc.Text(), err)
		}
		rows = append(rows, m)
	}
	return rows
}

func num(t *testing.T, row map[string]any, field string) float64 {
	t.Helper()
	v, ok := row[field].(float64)
	if !ok {
		t.Fatalf("row %v: field %q is %T, want a number", row, field, row[field])
	}
	return v
}

func idList(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}

func median64(xs []float64) float64 {
	xs = append([]float64(nil), xs...)
	sort.Float64s(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// headsRef holds the reference fields the heads rows reproduce.
type headsRef struct {
	InputIDs    []int         `json:"input_ids"`
	BOSAttn     [][]float64   `json:"bos_attn"`      // [L][H]
	AttnMass    [][][]float64 `json:"attn_mass"`     // [L][H][T]
	WOValueNorm [][][]float64 `json:"wo_value_norm"` // [L][H][T]
}

// TestHeadsReferenceRows runs `heads MODEL --ids ... --format json` on every
// reference checkpoint and compares the rows with the independent reference
// forward: first_attn = bos_attn and attn_mass_first = attn_mass[.][.][0] to
// 1e-5 absolute, value_norm_first = wo_value_norm[.][.][0] and
// value_norm_rest = its median over positions ≥ 1 to 1e-4 relative.
func TestHeadsReferenceRows(t *testing.T) {
	for _, tc := range []struct{ ckpt, ref string }{
		{"hf/stories260K_hf", "stories260K_hf_reference.json"},
		{"hf/stories260K_hf_bf16", "stories260K_hf_bf16_reference.json"},
		{"hf/olmo_tiny", "olmo_tiny_reference.json"},
		{"hf/olmo_tiny_bf16", "olmo_tiny_bf16_reference.json"},
		{"hf/olmo2_tiny", "olmo2_tiny_reference.json"},
		{"hf/olmo2_tiny_bf16", "olmo2_tiny_bf16_reference.json"},
	} {
		t.Run(filepath.Base(tc.ckpt), func(t *testing.T) {
			dir := fixtures.Path(t, tc.ckpt)
			var ref headsRef
			fixtures.ReadJSON(t, "reference/"+tc.ref, &ref)
			out, _ := runOK(t, "heads", dir, "--ids", idList(ref.InputIDs), "--format", "json")
			rows := jsonRows(t, out)
			L, H := len(ref.BOSAttn), len(ref.BOSAttn[0])
			if len(rows) != L*H {
				t.Fatalf("%d rows, want %d", len(rows), L*H)
			}
			var dFirst, dMass, dVal float64
			for _, row := range rows {
				l, h := int(num(t, row, "layer")), int(num(t, row, "head"))
				if row["domain"] != "input" || num(t, row, "n_seqs") != 1 {
					t.Errorf("row %v: want domain input and n_seqs 1", row)
				}
				dFirst = math.Max(dFirst, math.Abs(num(t, row, "first_attn")-ref.BOSAttn[l][h]))
				dMass = math.Max(dMass, math.Abs(num(t, row, "attn_mass_first")-ref.AttnMass[l][h][0]))
				wo := ref.WOValueNorm[l][h]
				dVal = math.Max(dVal, math.Abs(num(t, row, "value_norm_first")-wo[0])/wo[0])
				rest := median64(wo[1:])
				dVal = math.Max(dVal, math.Abs(num(t, row, "value_norm_rest")-rest)/rest)
			}
			t.Logf("max diff: first_attn %.3g, attn_mass_first %.3g (abs); value norms %.3g (rel)", dFirst, dMass, dVal)
			if dFirst > 1e-5 || dMass > 1e-5 || dVal > 1e-4 {
				t.Errorf("first_attn %.3g, attn_mass_first %.3g (want ≤ 1e-5); value norms %.3g (want ≤ 1e-4 relative)", dFirst, dMass, dVal)
			}
		})
	}
}

// TestHeadsShakespeareDomains writes the 32 + 32 held-out sequences of
// reference/shakespeare_llama_domains.json as "ids" JSON Lines and checks
// that `heads` reproduces bos_attn_mean (f32 checkpoint) and
// bos_attn_mean_bf16 (bf16 checkpoint, f32 math) per domain and head to 1e-5,
// and finds every head active on both domains, with no active-dormant head.
func TestHeadsShakespeareDomains(t *testing.T) {
	var ref struct {
		Domains map[string]struct {
			Sequences       [][]int     `json:"sequences"`
			BOSAttnMean     [][]float64 `json:"bos_attn_mean"`
			BOSAttnMeanBF16 [][]float64 `json:"bos_attn_mean_bf16"`
		} `json:"domains"`
	}
	fixtures.ReadJSON(t, "reference/shakespeare_llama_domains.json", &ref)
	domainArgs := shakespeareDomains(t, 32)
	for _, ckpt := range []string{"hf/shakespeare_llama", "hf/shakespeare_llama_bf16"} {
		t.Run(filepath.Base(ckpt), func(t *testing.T) {
			bf16 := strings.HasSuffix(ckpt, "bf16")
			out, stderr := runOK(t, append([]string{"heads", fixtures.Path(t, ckpt), "--format", "json"}, domainArgs...)...)
			rows := jsonRows(t, out)
			if len(rows) != 2*4*8 {
				t.Fatalf("%d rows, want 64", len(rows))
			}
			worst := 0.0
			for _, row := range rows {
				name := row["domain"].(string)
				l, h := int(num(t, row, "layer")), int(num(t, row, "head"))
				want := ref.Domains[name].BOSAttnMean[l][h]
				if bf16 {
					want = ref.Domains[name].BOSAttnMeanBF16[l][h]
				}
				worst = math.Max(worst, math.Abs(num(t, row, "first_attn")-want))
				if row["class"] != "active" || num(t, row, "n_seqs") != 32 {
					t.Errorf("%s L%dH%d: class %v, n_seqs %v; want active over 32 sequences", name, l, h, row["class"], row["n_seqs"])
				}
			}
			t.Logf("max |first_attn − reference mean| = %.3g", worst)
			if worst > 1e-5 {
				t.Errorf("max |first_attn − reference mean| = %.3g, want ≤ 1e-5", worst)
			}
			if !strings.Contains(stderr, "active-dormant heads: none") || !strings.Contains(stderr, "dormant 0, mixed 0, active 32") {
				t.Errorf("summary on stderr does not report all heads active and no active-dormant head:\n%s", stderr)
			}
		})
	}
}

// TestHeadsAblationMatchesZeroedCheckpoint checks ablation_dloss through the
// CLI for three heads against a brute-force recomputation: the loss of a copy
// of the checkpoint whose o_proj columns for the head are zeroed (written
// with loader.WriteSafetensors) minus the loss of the original. Same f32
// forward on both sides except the zeroed head, so ≤ 1e-5.
func TestHeadsAblationMatchesZeroedCheckpoint(t *testing.T) {
	dir := fixtures.Path(t, "hf/stories260K_hf")
	var ref headsRef
	fixtures.ReadJSON(t, "reference/stories260K_hf_reference.json", &ref)
	heads := []metrics.Head{{Layer: 0, Head: 1}, {Layer: 2, Head: 6}, {Layer: 4, Head: 0}}
	var list []string
	for _, h := range heads {
		list = append(list, h.String())
	}
	out, _ := runOK(t, "heads", dir, "--ids", idList(ref.InputIDs), "--ablate", strings.Join(list, ","), "--format", "json")
	got := map[string]any{}
	for _, row := range jsonRows(t, out) {
		got[fmt.Sprintf("%v.%v", row["layer"], row["head"])] = row["ablation_dloss"]
	}
	base := lossOf(t, dir, ref.InputIDs)
	for _, h := range heads {
		want := lossOf(t, ckptedit.Copy(t, dir, ckptedit.ScaleHead(h.Layer, h.Head, 8, 0)), ref.InputIDs) - base
		g, ok := got[h.String()].(float64)
		t.Logf("head %v: ablation_dloss %.8f, zeroed checkpoint %.8f", h, g, want)
		if !ok || math.Abs(g-want) > 1e-5 || want == 0 {
			t.Errorf("head %v: ablation_dloss %v, brute force %.8f (want equal to 1e-5, non-zero)", h, got[h.String()], want)
		}
	}
	if v := got["1.1"]; v != nil {
		t.Errorf("head 1.1 was not ablated but ablation_dloss = %v, want null", v)
	}
}

// lossOf is the mean next-token cross-entropy of the checkpoint in dir on ids.
func lossOf(t *testing.T, dir string, ids []int) float64 {
	t.Helper()
	m, c, err := sinkscope.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	acc, err := metrics.NewAccumulator(m, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.Add(metrics.Sequence{IDs: ids}); err != nil {
		t.Fatal(err)
	}
	return acc.Result().Loss
}

// TestHeadsDeterministic: the same command twice gives identical bytes in
// json and csv, and -o writes exactly what stdout would show.
func TestHeadsDeterministic(t *testing.T) {
	dir := fixtures.Path(t, "hf/stories260K_hf")
	for _, format := range []string{"json", "csv"} {
		args := []string{"heads", dir, "--max-seqs", "6", "--format", format, "--ablate", "1.2"}
		a, _ := runOK(t, args...)
		b, _ := runOK(t, args...)
		if a != b || a == "" {
			t.Errorf("%s: two runs differ (or are empty)", format)
		}
		p := filepath.Join(t.TempDir(), "out."+format)
		if out, _ := runOK(t, append(args, "-o", p)...); out != "" {
			t.Errorf("%s: with -o, stdout holds %d bytes", format, len(out))
		}
		if data, err := os.ReadFile(p); err != nil || string(data) != a {
			t.Errorf("%s: -o file differs from stdout (%v)", format, err)
		}
	}
	csv, _ := runOK(t, "heads", dir, "--max-seqs", "2", "--format", "csv")
	header := strings.SplitN(csv, "\n", 2)[0]
	if want := "domain,layer,head,n_seqs,first_attn,first_attn_std,attn_mass_first,prev_attn,dlogit_first,entropy,value_norm_first,value_norm_rest,value_norm_mean,z_norm,ahon_ln,head_out_norm,head_out_norm_ln,last_out_norm,top_sink,second_sink,class"; header != want {
		t.Errorf("csv header %q, want %q", header, want)
	}
}

// TestHeadsSeveralModels: two models in one table, with a leading model
// column. The ids read from a file (--ids @FILE, one per line) give the same
// table as on the command line.
func TestHeadsSeveralModels(t *testing.T) {
	a := fixtures.Path(t, "hf/olmo_tiny")
	b := fixtures.Path(t, "hf/olmo2_tiny")
	out, _ := runOK(t, "heads", a, b, "--ids", "1,17,254,3,99", "--format", "csv")
	idFile := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(idFile, []byte("1\n17\n254\n3\n99\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fromFile, _ := runOK(t, "heads", a, b, "--ids", "@"+idFile, "--format", "csv"); fromFile != out {
		t.Errorf("--ids @FILE gives\n%s\nwant the table of the same ids inline:\n%s", fromFile, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "model,domain,layer,head,") || len(lines) != 1+12+12 {
		t.Fatalf("header %q and %d rows, want a model column and 24 rows", lines[0], len(lines)-1)
	}
	if !strings.HasPrefix(lines[1], a+",input,0,0,") || !strings.HasPrefix(lines[24], b+",input,2,3,") {
		t.Errorf("rows not labelled by model in order: %q ... %q", lines[1], lines[24])
	}
}

// TestHeadsPlot writes a heatmap and checks it is a PNG of the expected shape:
// one row of three panels (two domains and their difference).
func TestHeadsPlot(t *testing.T) {
	dir := fixtures.Path(t, "hf/stories260K_hf")
	p := filepath.Join(t.TempDir(), "heads.png")
	runOK(t, "heads", dir, "--max-seqs", "3", "--format", "csv", "--plot", p)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", p, err)
	}
	if cfg.Width < 3*cfg.Height || cfg.Height < 200 {
		t.Errorf("PNG %d×%d: want one row of three panels (width ≥ 3 × height)", cfg.Width, cfg.Height)
	}
}

// TestHeadsBadInputs checks the message and exit code of each bad input, and
// that no output (stdout or -o file) is written.
func TestHeadsBadInputs(t *testing.T) {
	dir := fixtures.Path(t, "hf/stories260K_hf")
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.txt", "\n\n")
	short := write("short.txt", "One.\n\nTwo words.\n")
	bad := write("bad.txt", "fine text here\n\nbroken \xff\xfe bytes\n")
	good := write("good.txt", "Once upon a time there was a little dog who liked to run in the park with his friends.\n")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  []string
	}{
		{"empty domain", []string{"--domain", "e=" + empty}, 1, []string{`domain "e" is empty`, empty}},
		{"missing file", []string{"--domain", "m=" + filepath.Join(tmp, "nope.txt")}, 1, []string{`domain "m"`, "nope.txt"}},
		{"all too short", []string{"--domain", "s=" + short, "--seq-len", "16"}, 1, []string{`domain "s"`, "all 2 texts are shorter than 16 tokens"}},
		{"beyond context", []string{"--domain", "g=" + good, "--seq-len", "600"}, 2, []string{"--seq-len 600", "max_position_embeddings 512"}},
		{"non-UTF-8", []string{"--domain", "b=" + bad}, 1, []string{`domain "b"`, "bad.txt", "not valid UTF-8"}},
		{"bad spec", []string{"--domain", "nopath"}, 2, []string{"NAME=PATH"}},
		{"ids and text", []string{"--ids", "1,2", "--text", "x"}, 2, []string{"not both"}},
		{"one id", []string{"--ids", "1"}, 2, []string{"at least 2"}},
		{"ids file missing", []string{"--ids", "@" + filepath.Join(tmp, "noids.txt")}, 1, []string{"--ids", "noids.txt"}},
		{"ids file bad", []string{"--ids", "@" + write("ids.txt", "1, 2\n3 x\n")}, 2, []string{"--ids", "ids.txt", `"x" is not a token id`}},
		{"ids file empty", []string{"--ids", "@" + empty}, 2, []string{"no token ids in " + empty}},
		{"id out of vocabulary", []string{"--ids", "1,600"}, 1, []string{"outside the vocabulary"}},
		{"bad format", []string{"--format", "xml"}, 2, []string{"--format"}},
		{"bad rule", []string{"--rule", "vibes"}, 2, []string{"vibes"}},
		{"bad thresholds", []string{"--tau-active", "0.9"}, 2, []string{"τ_active"}},
		{"bad ablate", []string{"--ablate", "x"}, 2, []string{"layer.head"}},
		{"ablate outside", []string{"--ablate", "5.0"}, 2, []string{"head 5.0 is outside"}},
		{"missing model", []string{filepath.Join(tmp, "nomodel")}, 1, []string{"nomodel"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(tmp, "out-"+strings.ReplaceAll(tc.name, " ", "_")+".json")
			args := append([]string{"heads"}, tc.args...)
			if tc.name != "missing model" {
				args = append([]string{"heads", dir}, tc.args...)
			}
			args = append(args, "-o", out, "--plot", out+".png")
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr.String())
			}
			for _, m := range tc.msg {
				if !strings.Contains(stderr.String(), m) {
					t.Errorf("stderr %q does not mention %q", stderr.String(), m)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout holds %d bytes after a failure", stdout.Len())
			}
			for _, p := range []string{out, out + ".png"} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s was written despite the failure", p)
				}
			}
			ents, _ := os.ReadDir(tmp)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}

// TestHeadsBuiltinToy: without MODEL, heads analyses the embedded
// Bigram-Backcopy checkpoint on its trigger/non-trigger domains; next to a
// language model, each gets its own default domains in one table.
func TestHeadsBuiltinToy(t *testing.T) {
	out, _ := runOK(t, "heads", "--max-seqs", "4", "--format", "csv")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "domain,layer,head,") || len(lines) < 3 ||
		!strings.HasPrefix(lines[1], "trigger,0,0,4,") || !strings.Contains(out, "\nnon-trigger,0,0,4,") {
		t.Errorf("heads without MODEL:\n%s\nwant trigger and non-trigger rows over 4 sequences", out)
	}
	lm := fixtures.Path(t, "hf/stories260K_hf")
	out, stderr := runOK(t, "heads", sinkscope.Builtin, lm, "--max-seqs", "2", "--format", "csv")
	for _, want := range []string{"\n" + sinkscope.Builtin + ",trigger,0,0,", "\n" + sinkscope.Builtin + ",non-trigger,", "\n" + lm + ",prose,4,7,2,", "\n" + lm + ",code,0,0,2,"} {
		if !strings.Contains(out, want) {
			t.Errorf("side-by-side table lacks a row starting %q", want)
		}
	}
	if !strings.Contains(stderr, "domain trigger: 2 sequences") || !strings.Contains(stderr, "domain prose: 2 sequences") {
		t.Errorf("summary on stderr lacks the trigger domain:\n%s", stderr)
	}
}

// TestProgress draws the bar into a buffer (the real one only draws on a
// terminal) and checks the final frame and that non-terminals get nothing.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{w: &buf, label: "m: 4 forward passes", total: 4}
	for i := 0; i < 4; i++ {
		p.step()
	}
	p.finish()
	s := buf.String()
	if !strings.Contains(s, "[==============================] 100% 4/4 ETA 0s") || !strings.HasSuffix(s, "\n") {
		t.Errorf("final frame %q, want a full bar at 100%% with ETA 0s and a newline", s)
	}
	var quiet bytes.Buffer
	q := newProgress(&quiet, "x", 10)
	q.step()
	q.finish()
	if quiet.Len() != 0 {
		t.Errorf("progress wrote %q to a non-terminal", quiet.String())
	}
}
