package main

import (
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// shakespeareDomains writes the first n sequences of each of the two
// reference domains of shakespeare_llama (prose, code) as "ids" JSON Lines
// and returns the --domain flags naming them.
func shakespeareDomains(t *testing.T, n int) []string {
	t.Helper()
	var ref struct {
		Domains map[string]struct {
			Sequences [][]int `json:"sequences"`
		} `json:"domains"`
	}
	fixtures.ReadJSON(t, "reference/shakespeare_llama_domains.json", &ref)
	tmp := t.TempDir()
	var args []string
	for _, name := range []string{"prose", "code"} {
		var b strings.Builder
		for _, s := range ref.Domains[name].Sequences[:n] {
			js, _ := json.Marshal(map[string][]int{"ids": s})
			b.Write(js)
			b.WriteByte('\n')
		}
		p := filepath.Join(tmp, name+".jsonl")
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--domain", name+"="+p)
	}
	return args
}

// TestZeroingCurve: calibrated zeroing on shakespeare_llama's two reference
// domains. At fraction 0 nothing is zeroed and Δloss is exactly 0; otherwise
// at most the asked fraction of (head, sequence) pairs is zeroed (fewer only
// where scores tie: a value norm of the BOS token is the same in every
// sequence), zeroing costs loss, and the table, CSV and PNG agree.
func TestZeroingCurve(t *testing.T) {
	dir := fixtures.Path(t, "hf/shakespeare_llama")
	tmp := t.TempDir()
	csvPath, pngPath := filepath.Join(tmp, "zero.csv"), filepath.Join(tmp, "zero.png")
	args := append([]string{"heads", dir, "--zero-frac", "0,0.1,0.3", "--format", "csv", "--zero-out", csvPath, "--zero-plot", pngPath}, shakespeareDomains(t, 8)...)
	runOK(t, args...)
	data, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if lines[0] != "domain,rule,frac,tau,zeroed_frac,dloss" || len(lines) != 1+2*3*3 {
		t.Fatalf("zeroing CSV: header %q, %d rows; want 18", lines[0], len(lines)-1)
	}
	const pairs = 8 * 4 * 8 // sequences × layers × heads
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		frac, zeroed, dloss := parseF(t, f[2]), parseF(t, f[4]), parseF(t, f[5])
		switch {
		case frac == 0 && (zeroed != 0 || dloss != 0):
			t.Errorf("%s: at fraction 0, zeroed %g and Δloss %g; want exactly 0", line, zeroed, dloss)
		case frac > 0 && (zeroed > frac || zeroed == 0 || !(dloss > 0)):
			t.Errorf("%s: zeroed %g of pairs (want (0, %g]), Δloss %g (want > 0)", line, zeroed, frac, dloss)
		case frac > 0 && f[1] == "first_attn" && zeroed < frac-1.0/pairs:
			t.Errorf("%s: first_attn has no ties, yet only %g of pairs are zeroed for %g", line, zeroed, frac)
		}
	}
	fp, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer fp.Close()
	if _, err := png.DecodeConfig(fp); err != nil {
		t.Errorf("--zero-plot: %v", err)
	}
	// In table format the same rows follow the summary.
	table, _ := runOK(t, append([]string{"heads", dir, "--zero-frac", "0,0.1,0.3"}, shakespeareDomains(t, 8)...)...)
	if !strings.Contains(table, "calibrated zeroing") || strings.Count(table, "ahon_ln") < 6 {
		t.Errorf("table output lacks the zeroing table:\n%s", table)
	}
	code, _, errs := runCode("heads", dir, "--zero-frac", "0.1", "--format", "json")
	if code != 2 || !strings.Contains(errs, "needs --zero-out") {
		t.Errorf("json without --zero-out: exit %d, %s", code, errs)
	}
}

func parseF(t *testing.T, s string) float64 {
	t.Helper()
	var v float64
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		if s == "NaN" {
			return math.NaN()
		}
		t.Fatalf("%q is not a number", s)
	}
	return v
}
