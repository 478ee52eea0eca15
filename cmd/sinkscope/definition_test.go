package main

import (
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope"
)

// TestFirstAttnOneDefinition: on the built-in toy, heads, diff and bbtoy
// analyze print the same first_attn, bit for bit (JSON floats print the
// shortest form that reads back to the same float64), from the same
// sequences: the toy's own trigger and non-trigger domains.
func TestFirstAttnOneDefinition(t *testing.T) {
	type key struct {
		domain      string
		layer, head float64
	}
	collect := func(out string) map[key]string {
		got := map[key]string{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			r := jsonRows(t, line)[0]
			if _, ok := r["first_attn"]; !ok {
				continue // an ablation row of bbtoy analyze
			}
			// The exact text of the number, as printed.
			i := strings.Index(line, `"first_attn":`)
			v := line[i+len(`"first_attn":`):]
			v = v[:strings.IndexAny(v, ",}")]
			got[key{r["domain"].(string), num(t, r, "layer"), num(t, r, "head")}] = v
		}
		return got
	}
	heads, _ := runOK(t, "heads", "--max-seqs", "12", "--seed", "3", "--format", "json")
	diff, _ := runOK(t, "diff", sinkscope.Builtin, "--max-seqs", "12", "--seed", "3", "--format", "json", "--no-cache")
	analyze, _ := runOK(t, "bbtoy", "analyze", "--seqs", "12", "--seed", "3", "--format", "json")
	h, d, a := collect(heads), collect(diff), collect(analyze)
	if len(h) == 0 || len(h) != len(d) || len(h) != len(a) {
		t.Fatalf("rows with first_attn: heads %d, diff %d, bbtoy analyze %d", len(h), len(d), len(a))
	}
	for k, v := range h {
		if d[k] != v || a[k] != v {
			t.Errorf("%v: first_attn heads %s, diff %s, bbtoy analyze %s", k, v, d[k], a[k])
		}
	}
	if v := h[key{"non-trigger", 0, 0}]; !strings.HasPrefix(v, "0.9") {
		t.Errorf("non-trigger head 0.0: first_attn %s, want the toy's sink (≥ 0.9)", v)
	}
}
