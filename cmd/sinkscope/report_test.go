package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// pageData is the part of a report's embedded data the tests read.
type pageData struct {
	Layers  int `json:"layers"`
	Heads   int `json:"heads"`
	Domains []struct {
		Name   string                `json:"name"`
		Values map[string][]*float64 `json:"values"`
	} `json:"domains"`
	Steps []struct {
		Label string `json:"label"`
	} `json:"steps"`
	Samples []struct {
		IDs          []int `json:"ids"`
		PatternHeads []int `json:"pattern_heads"`
	} `json:"samples"`
}

// readPage reads the data embedded in a report file.
func readPage(t *testing.T, path string) (*pageData, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const open = `<script type="application/json" id="report-data">`
	i := bytes.Index(b, []byte(open))
	j := bytes.Index(b[i+1:], []byte("</script>"))
	if i < 0 || j < 0 {
		t.Fatalf("%s: no embedded report data", path)
	}
	var p pageData
	if err := json.Unmarshal(b[i+len(open):i+1+j], &p); err != nil {
		t.Fatalf("%s: report data: %v", path, err)
	}
	return &p, b
}

// rowValue reads a numeric field of a heads/diff JSON row; NaN for null.
func rowValue(r map[string]any, k string) float64 {
	if f, ok := r[k].(float64); ok {
		return f
	}
	return math.NaN()
}

// closeF32 reports whether got (a number the page shows, printed at float32
// precision) equals want (a JSON result, float64) to float32 rounding.
func closeF32(got, want float64) bool {
	if math.IsNaN(want) || math.IsNaN(got) {
		return math.IsNaN(want) && math.IsNaN(got)
	}
	return math.Abs(got-want) <= 1.2e-7*math.Max(math.Abs(want), 1e-30) || float32(got) == float32(want)
}

// TestReportCLI checks a report of stories260K against heads' JSON rows, on
// its built-in domains: the page data holds every row's numbers, --rows
// gives the same grid as running the analysis, and the file is the same
// bytes twice.
func TestReportCLI(t *testing.T) {
	model := fixtures.Path(t, "hf/stories260K_hf")
	dir := t.TempDir()
	flags := []string{"--seq-len", "16", "--max-seqs", "4"}
	heads, _ := runOK(t, append([]string{"heads", model, "--format", "json"}, flags...)...)
	rowsFile := filepath.Join(dir, "heads.jsonl")
	os.WriteFile(rowsFile, []byte(heads), 0o644)
	a, b, c := filepath.Join(dir, "a.html"), filepath.Join(dir, "b.html"), filepath.Join(dir, "rows.html")
	runOK(t, append([]string{"report", model, "-o", a}, flags...)...)
	runOK(t, append([]string{"report", model, "-o", b}, flags...)...)
	runOK(t, append([]string{"report", model, "--rows", rowsFile, "-o", c}, flags...)...)
	pa, ba := readPage(t, a)
	_, bb := readPage(t, b)
	if !bytes.Equal(ba, bb) {
		t.Errorf("two reports of the same inputs differ (%d and %d bytes)", len(ba), len(bb))
	}
	for _, s := range []string{"http://", "https://", "src=", "@import"} {
		if bytes.Contains(ba, []byte(s)) {
			t.Errorf("the report contains %q: it must need nothing from outside the file", s)
		}
	}
	pc, _ := readPage(t, c)
	if pa.Layers != 5 || pa.Heads != 8 || len(pa.Domains) != 2 || pa.Domains[0].Name != "prose" || pa.Domains[1].Name != "code" {
		t.Fatalf("report: %d×%d, domains %v; want 5×8 on prose and code", pa.Layers, pa.Heads, pa.Domains)
	}
	if len(pa.Samples) != 2 || len(pa.Samples[0].PatternHeads) != 40 {
		t.Errorf("samples: %d, first with %d pattern heads; want 2 with all 40", len(pa.Samples), len(pa.Samples[0].PatternHeads))
	}
	checkGrid := func(name string, p *pageData) {
		rows := jsonRows(t, heads)
		if len(rows) != 80 {
			t.Fatalf("heads: %d rows, want 80", len(rows))
		}
		for _, r := range rows {
			j := 0
			if r["domain"] == "code" {
				j = 1
			}
			i := int(rowValue(r, "layer"))*8 + int(rowValue(r, "head"))
			for _, col := range analysis.HeadColumns() {
				got := math.NaN()
				if v := p.Domains[j].Values[col]; v != nil && v[i] != nil {
					got = *v[i]
				}
				if want := rowValue(r, col); !closeF32(got, want) {
					t.Errorf("%s: %s head %d %s = %v, want %v (heads JSON)", name, r["domain"], i, col, got, want)
				}
			}
		}
	}
	checkGrid("report", pa)
	checkGrid("report --rows", pc)

	// ablation Δloss is a metric of the page where it was measured
	abl := filepath.Join(dir, "ablate.html")
	runOK(t, "report", model, "--ids", diffIDs, "--ablate", "1.3", "--sample-ids", diffIDs, "-o", abl)
	pd, _ := readPage(t, abl)
	v := pd.Domains[0].Values["ablation_dloss"]
	if len(v) != 40 || v[11] == nil || math.IsNaN(*v[11]) || v[0] != nil {
		t.Errorf("report --ablate 1.3: ablation_dloss %v; want a number for head 1.3 only", v)
	}
	if _, ok := pa.Domains[0].Values["ablation_dloss"]; ok {
		t.Errorf("report without --ablate has ablation_dloss")
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report", model}, 2, "-o FILE.html"},
		{[]string{"report", model, "-o", filepath.Join(dir, "x.html"), "--pattern-heads", "9.0", "--sample-ids", "1,2,3"}, 2, "pattern head 9.0 is outside"},
		{[]string{"report", model, "-o", filepath.Join(dir, "x.html"), "--sample-ids", "1,99999"}, 2, "outside the vocabulary"},
		{[]string{"report", "--rows", filepath.Join(dir, "missing.jsonl"), "-o", filepath.Join(dir, "x.html")}, 1, "no such file"},
		{[]string{"report", "builtin:bbtoy", "--rows", rowsFile, "-o", filepath.Join(dir, "x.html")}, 1, "has 5 layers × 8 heads"},
	} {
		code, _, errs := runCode(tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

// browser returns the Chromium and Node.js that the browser test drives, or
// skips t saying what is missing.
func browser(t *testing.T) (chromium, node string) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv("SINKSCOPE_REQUIRE_BROWSER") != "" {
		skip = t.Fatalf // CI installs the browser: its absence is a failure there
	}
	chromium = os.Getenv("SINKSCOPE_CHROMIUM")
	if chromium == "" {
		chromium, _ = exec.LookPath("chromium")
	}
	if chromium == "" {
		skip("Chromium not found (install Debian's chromium, or set $SINKSCOPE_CHROMIUM); skipping the browser test")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		skip("node not found; skipping the browser test")
	}
	if out, err := exec.Command(node, "-e", "require.resolve('playwright-core')").CombinedOutput(); err != nil {
		skip("playwright-core not found by node (npm install playwright-core into a directory and set $NODE_PATH to its node_modules): %v: %s; skipping the browser test", err, out)
	}
	return chromium, node
}

// shotsDir is where the browser test saves its screenshots:
// $SINKSCOPE_REPORT_SHOTS/name when set, else a temporary directory.
func shotsDir(t *testing.T, name string) string {
	d := t.TempDir()
	if env := os.Getenv("SINKSCOPE_REPORT_SHOTS"); env != "" {
		d = filepath.Join(env, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// browse opens report in Chromium through the driver script and returns
// what it read.
func browse(t *testing.T, report string, head [2]int, series bool, shots string, more ...any) map[string]any {
	t.Helper()
	chromium, node := browser(t)
	c := map[string]any{"chromium": chromium, "report": report, "shots": shots, "head": head, "cells": true, "series": series}
	for i := 0; i+1 < len(more); i += 2 {
		c[more[i].(string)] = more[i+1]
	}
	cfg, _ := json.Marshal(c)
	cfgPath := filepath.Join(t.TempDir(), "cfg.json")
	os.WriteFile(cfgPath, cfg, 0o644)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(node, filepath.Join("testdata", "report_browser.cjs"), cfgPath)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser driver: %v\n%s", err, stderr.String())
	}
	var out map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("browser driver output: %v", err)
	}
	if errs := out["errors"].([]any); len(errs) > 0 {
		t.Errorf("the page reported errors: %v", errs)
	}
	want := "file://" + report
	for _, r := range out["requests"].([]any) {
		if r != want {
			t.Errorf("the page requested %v; it may load nothing but itself (%s)", r, want)
		}
	}
	t.Logf("%s: screenshots in %s (opened in %v ms, head redraws %v ms)", filepath.Base(report), shots, out["openMs"], out["redrawMs"])
	fmt.Fprintf(os.Stderr, "report browser test: screenshots of %s in %s\n", filepath.Base(report), shots)
	return out
}

// cells indexes the cells the page showed for one metric: grid → [layer×heads+head].
func cells(t *testing.T, out map[string]any, metric string, heads int) map[string]map[int]map[string]any {
	t.Helper()
	byGrid := map[string]map[int]map[string]any{}
	list, ok := out["cells"].(map[string]any)[metric].([]any)
	if !ok {
		t.Fatalf("the page has no metric %s", metric)
	}
	for _, c := range list {
		c := c.(map[string]any)
		g := c["grid"].(string)
		if byGrid[g] == nil {
			byGrid[g] = map[int]map[string]any{}
		}
		byGrid[g][int(c["layer"].(float64))*heads+int(c["head"].(float64))] = c
	}
	return byGrid
}

func cellValue(c map[string]any) float64 {
	f, err := strconv.ParseFloat(c["value"].(string), 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// TestReportBrowser opens reports of stories260K (its built-in domains,
// one sample), of the built-in toy and of a checkpoint series in headless
// Chromium: the grid shows heads' JSON numbers and classes, a clicked head's
// pattern cells equal dump's hook_pattern to the quantisation step, the
// series slider moves the grid through diff's rows, and nothing is loaded
// from outside the file.
func TestReportBrowser(t *testing.T) {
	browser(t)
	model := fixtures.Path(t, "hf/stories260K_hf")
	dir := t.TempDir()
	flags := []string{"--seq-len", "16", "--max-seqs", "4"}
	heads, _ := runOK(t, append([]string{"heads", model, "--format", "json"}, flags...)...)
	page := filepath.Join(dir, "stories260K.html")
	runOK(t, append([]string{"report", model, "--sample-ids", diffIDs, "-o", page}, flags...)...)
	dumpOut, _ := runOK(t, "dump", model, "--ids", diffIDs, "--hooks", "blocks.*.attn.hook_pattern")
	var dump struct {
		Tensors map[string]struct {
			Shape []int     `json:"shape"`
			Data  []float64 `json:"data"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(dumpOut), &dump); err != nil {
		t.Fatal(err)
	}
	head := [2]int{1, 3}
	out := browse(t, page, head, false, shotsDir(t, "stories260K"))

	// the grid: every metric column of every row, and the class
	for _, col := range append(analysis.HeadColumns(), "class") {
		metric := col
		if col == "class" {
			metric = "first_attn"
		}
		shown := cells(t, out, metric, 8)
		for _, r := range jsonRows(t, heads) {
			g := "0"
			if r["domain"] == "code" {
				g = "1"
			}
			i := int(rowValue(r, "layer"))*8 + int(rowValue(r, "head"))
			c := shown[g][i]
			if c == nil {
				t.Fatalf("the page shows no cell for %s head %d", r["domain"], i)
			}
			if col == "class" {
				if c["class"] != r["class"] {
					t.Errorf("%s head %d: the page's class %v, heads says %v", r["domain"], i, c["class"], r["class"])
				}
				continue
			}
			if got, want := cellValue(c), rowValue(r, col); !closeF32(got, want) {
				t.Errorf("%s head %d %s: the page shows %v, heads JSON %v", r["domain"], i, col, got, want)
			}
		}
	}
	for i, c := range out["classesAtTau0"].([]any) {
		if c != "dormant" {
			t.Errorf("with τ_dormant 0 typed into the page, head %d is %v, want dormant", i, c)
		}
	}
	if tip := out["gridTip"].(string); !strings.Contains(tip, "head 1.3") || !strings.Contains(tip, "class: ") || !strings.Contains(tip, "value_norm_first") {
		t.Errorf("hovering head 1.3 shows %q; want its name, class and numbers", tip)
	}

	// the clicked head's pattern, cell by cell, against dump
	pat := out["pattern"].(map[string]any)
	want := dump.Tensors["blocks.1.attn.hook_pattern"]
	T := int(pat["t"].(float64))
	if len(want.Shape) != 3 || want.Shape[1] != T {
		t.Fatalf("dump pattern shape %v, page T %d", want.Shape, T)
	}
	const step = 1.0 / 255
	worst := 0.0
	for q, row := range pat["rows"].([]any) {
		for k, v := range row.([]any) {
			got, ok := v.(float64)
			if !ok {
				t.Fatalf("pattern cell (%d, %d) of head 1.3 not stored", q, k)
			}
			d := math.Abs(got - want.Data[(head[1]*T+q)*T+k])
			worst = math.Max(worst, d)
			if d > step/2+1e-6 {
				t.Errorf("pattern cell (%d, %d): page %.5f, dump %.5f: off by more than half the step 1/255", q, k, got, want.Data[(head[1]*T+q)*T+k])
			}
		}
	}
	t.Logf("pattern of head 1.3 on %d tokens: largest |page − dump| = %.6f (half step %.6f)", T, worst, step/2)
	q0 := want.Data[(head[1]*T+T-1)*T]
	if tip := out["patternTip"].(string); !strings.Contains(tip, fmt.Sprintf("p = %d/255", int(math.Round(q0*255)))) {
		t.Errorf("hovering cell (%d, 0) shows %q; want p = %d/255 (dump %.5f)", T-1, tip, int(math.Round(q0*255)), q0)
	}
	if !strings.Contains(out["quantisation"].(string), "round(255·p)") {
		t.Errorf("the page does not state the quantisation: %q", out["quantisation"])
	}

	// the built-in toy: one head, dormant on non-trigger queries, active on trigger ones
	toy := filepath.Join(dir, "bbtoy.html")
	toyHeads, _ := runOK(t, "heads", "--format", "json", "--max-seqs", "20")
	runOK(t, "report", "--max-seqs", "20", "-o", toy)
	out = browse(t, toy, [2]int{0, 0}, false, shotsDir(t, "bbtoy"))
	shown := cells(t, out, "first_attn", 1)
	for _, r := range jsonRows(t, toyHeads) {
		g := map[any]string{"trigger": "0", "non-trigger": "1"}[r["domain"]]
		if c := shown[g][0]; !closeF32(cellValue(c), rowValue(r, "first_attn")) || c["class"] != r["class"] {
			t.Errorf("toy %s: page first_attn %v class %v, heads %v %v", r["domain"], c["value"], c["class"], r["first_attn"], r["class"])
		}
	}

	// a series: the slider steps the grid through diff's checkpoints
	series := buildSeries(t)
	diff, _ := runOK(t, "diff", "--series", series, "--ids", diffIDs, "--format", "json", "--no-cache")
	diffFile := filepath.Join(dir, "diff.jsonl")
	os.WriteFile(diffFile, []byte(diff), 0o644)
	sp := filepath.Join(dir, "series.html")
	runOK(t, "report", filepath.Join(series, "step2000-tokens8M"), "--rows", diffFile, "--sample-ids", diffIDs, "-o", sp)
	out = browse(t, sp, [2]int{4, 2}, true, shotsDir(t, "series"))
	steps := out["steps"].([]any)
	labels := []string{"step 500", "step 1000", "step 2000", "step 3000"}
	if len(steps) != len(labels) {
		t.Fatalf("the slider has %d steps, want %d", len(steps), len(labels))
	}
	rows := jsonRows(t, diff)
	for s, st := range steps {
		st := st.(map[string]any)
		if !strings.HasPrefix(st["label"].(string), labels[s]) {
			t.Errorf("slider at %d shows %q, want %s", s, st["label"], labels[s])
		}
		byHead := map[int]map[string]any{}
		for _, c := range st["cells"].([]any) {
			c := c.(map[string]any)
			byHead[int(c["layer"].(float64))*8+int(c["head"].(float64))] = c
		}
		n := 0
		for _, r := range rows {
			if int(rowValue(r, "step")) != []int{500, 1000, 2000, 3000}[s] || r["domain"] != "input" {
				continue
			}
			n++
			i := int(rowValue(r, "layer"))*8 + int(rowValue(r, "head"))
			if c := byHead[i]; !closeF32(cellValue(c), rowValue(r, "first_attn")) || c["class"] != r["class"] {
				t.Errorf("slider at %s, head %d: page %v %v, diff %v %v", labels[s], i, c["value"], c["class"], r["first_attn"], r["class"])
			}
		}
		if n != 40 {
			t.Errorf("%s: %d diff rows, want 40", labels[s], n)
		}
	}
}

// TestReportLarge measures a report of a 7B-shaped model (set
// $SINKSCOPE_REPORT_7B to a checkpoint directory, e.g. a 2-layer Llama-2-7B
// shape with random weights) with one sample of 4,096 tokens: the page
// opens, and the head view redraws in under 200 ms in headless Chromium.
// Writing the report takes one forward pass of 4,096 tokens (minutes on two
// cores): give go test a -timeout above its default 10 minutes.
func TestReportLarge(t *testing.T) {
	model := os.Getenv("SINKSCOPE_REPORT_7B")
	if model == "" {
		t.Skip("set $SINKSCOPE_REPORT_7B to a 7B-shaped checkpoint directory to measure a report with 4,096-token patterns")
	}
	browser(t)
	const T = 4096
	ids := make([]string, T)
	for i := range ids {
		ids[i] = strconv.Itoa(1 + (i*7919)%31999)
	}
	dir := t.TempDir()
	if env := os.Getenv("SINKSCOPE_REPORT_SHOTS"); env != "" {
		dir = env
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	page := filepath.Join(dir, "large.html")
	start := time.Now()
	runOK(t, "report", model, "--ids", strings.Join(ids[:16], ","), "--sample-ids", strings.Join(ids, ","),
		"--pattern-heads", "0.0,0.31,1.0,1.31", "-o", page)
	st, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report of %s with patterns of 4 heads on %d tokens: %d bytes, written in %v", model, T, st.Size(), time.Since(start).Round(time.Millisecond))
	out := browse(t, page, [2]int{0, 0}, false, shotsDir(t, "large"), "noPattern", true, "switchTo", []int{1, 31})
	var redraw []float64
	for _, v := range out["redrawMs"].([]any) {
		redraw = append(redraw, v.(float64))
	}
	sort.Float64s(redraw)
	med := redraw[len(redraw)/2]
	t.Logf("opened in %v ms; head view redraw %v ms (median %.1f); click on another head %v ms (its head view %v ms)",
		out["openMs"], redraw, med, out["switchMs"], out["switchDrawMs"])
	if med >= 200 {
		t.Errorf("head view redraw: median %.1f ms over %d, want < 200 ms", med, len(redraw))
	}
	if sw := out["switchDrawMs"].(float64); sw >= 200 {
		t.Errorf("head view after a click on another head: %.1f ms, want < 200 ms", sw)
	}
}
