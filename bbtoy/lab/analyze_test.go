package lab

import (
	"testing"

	"github.com/sinkscope/sinkscope/bbtoy"

	"github.com/sinkscope/sinkscope/metrics"
)

// TestAnalyzeMatchesAccumulator: Analyze's head table is a
// metrics.Accumulator run on m.Domains(n, seed), domain by domain in the
// order Domains returns them, so its numbers are the ones `sinkscope heads`
// prints, to the bit.
func TestAnalyzeMatchesAccumulator(t *testing.T) {
	m := smallModel(t, 2, bbtoy.Softmax)
	const n, seed = 3, 5
	an, err := Analyze(m, n, seed)
	if err != nil {
		t.Fatal(err)
	}
	var want []HeadRow
	for _, d := range m.Domains(n, seed) {
		acc, err := metrics.NewAccumulator(m, metrics.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Each(func(ids []int, q []bool) error { return acc.Add(metrics.Sequence{IDs: ids, Queries: q}) }); err != nil {
			t.Fatal(err)
		}
		for _, r := range acc.Result().HeadRes {
			want = append(want, HeadRow{Domain: d.Name, HeadResult: r, Class: metrics.DefaultClassifier().Class(r.FirstAttn)})
		}
	}
	if len(an.Heads) != len(want) {
		t.Fatalf("%d head rows, want %d", len(an.Heads), len(want))
	}
	for i, g := range an.Heads {
		w := want[i]
		if g.Domain != w.Domain || g.Layer != w.Layer || g.Head != w.Head || g.FirstAttnQueries != w.FirstAttnQueries || g.Class != w.Class ||
			g.FirstAttn != w.FirstAttn || g.PrevAttn != w.PrevAttn || g.ValueNormFirst != w.ValueNormFirst || g.ValueNormRest != w.ValueNormRest {
			t.Errorf("row %d: %s L%dH%d n_queries %d first_attn %v prev_attn %v value_norm_first %v rest %v %s;\n"+
				"want %s L%dH%d n_queries %d first_attn %v prev_attn %v value_norm_first %v rest %v %s",
				i, g.Domain, g.Layer, g.Head, g.FirstAttnQueries, g.FirstAttn, g.PrevAttn, g.ValueNormFirst, g.ValueNormRest, g.Class,
				w.Domain, w.Layer, w.Head, w.FirstAttnQueries, w.FirstAttn, w.PrevAttn, w.ValueNormFirst, w.ValueNormRest, w.Class)
		}
	}
	if g := an.Heads[0].Domain; g != bbtoy.DomainTrigger {
		t.Errorf("first row's domain %q, want %q (the order of Domains)", g, bbtoy.DomainTrigger)
	}
	names := []string{"full", "no-attn L0", "no-mlp L0", "no-attn L1", "no-mlp L1"}
	if len(an.Ablations) != len(names) {
		t.Fatalf("%d ablations, want %v", len(an.Ablations), names)
	}
	for i, a := range an.Ablations {
		if a.Name != names[i] {
			t.Errorf("ablation %d is %q, want %q", i, a.Name, names[i])
		}
	}
}

// TestAnalyzeSkipsLayersWithoutAttention: a layer without attention has no
// head rows and no attention ablation.
func TestAnalyzeSkipsLayersWithoutAttention(t *testing.T) {
	task := bbtoy.BuiltinTask()
	c := bbtoy.DefaultConfig(task, 16, 2)
	c.NoAttn[0] = true
	m, err := bbtoy.NewModel(c, task, 3)
	if err != nil {
		t.Fatal(err)
	}
	an, err := Analyze(m, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range an.Heads {
		if h.Layer == 0 {
			t.Errorf("row for layer 0, which has no attention: %+v", h)
		}
	}
	if len(an.Heads) != 2 || len(an.Ablations) != 4 {
		t.Errorf("%d head rows and %d ablations, want 2 (layer 1 on two domains) and 4 (full, no-mlp L0, no-attn L1, no-mlp L1)", len(an.Heads), len(an.Ablations))
	}
}
