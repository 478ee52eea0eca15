package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
)

// TestOnSequence: the callback sees every sequence folded in, in order, with
// a base loss equal to Loss's with no hooks (exactly: the fake model is
// deterministic) and to loss(head zeroed) − Δloss of the ablated head; the
// mean of its per-sequence scores is the domain score of every rule but
// out_norm (whose domain score comes from domain means).
func TestOnSequence(t *testing.T) {
	f := newFakeModel(12, 2, 4, 2, 4, 8, 16, 3)
	zeroed := Head{Layer: 1, Head: 2}
	var seqs []Sequence
	for i, ids := range randomIDs(rand.New(rand.NewPCG(7, 1)), 5, 9, 16) {
		s := Sequence{IDs: ids[:5+i]}
		if i == 2 {
			s.Queries = make([]bool, len(s.IDs)) // no counted query: skipped
		}
		seqs = append(seqs, s)
	}
	type seen struct {
		s      SequenceScores
		values [][]float64
	}
	var got []seen
	acc, err := NewAccumulator(f, Options{Ablate: []Head{zeroed}, OnSequence: func(s SequenceScores) {
		c := seen{s: s}
		for _, v := range s.Values {
			c.values = append(c.values, append([]float64(nil), v...))
		}
		got = append(got, c)
	}})
	if err != nil {
		t.Fatal(err)
	}
	var zero hooks.Set
	zero.Add(hooks.ZeroHead(zeroed.Layer, zeroed.Head))
	var dlossSum, lossSum float64
	k := 0
	for _, s := range seqs {
		if err := acc.Add(s); err != nil {
			t.Fatal(err)
		}
		if s.nFirstQueries() == 0 {
			continue
		}
		if len(got) != k+1 || got[k].s.Index != k {
			t.Fatalf("after sequence %d: %d callbacks, last index %d; want %d, %d", k, len(got), got[len(got)-1].s.Index, k+1, k)
		}
		base, err := Loss(f, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		empty, err := Loss(f, s, new(hooks.Set))
		if err != nil {
			t.Fatal(err)
		}
		if got[k].s.Loss != base || empty != base {
			t.Errorf("sequence %d: OnSequence loss %.17g, Loss %.17g (empty set %.17g), want equal", k, got[k].s.Loss, base, empty)
		}
		z, err := Loss(f, s, &zero)
		if err != nil {
			t.Fatal(err)
		}
		dlossSum += z - base
		lossSum += base
		k++
	}
	d := acc.Result()
	n := float64(len(got))
	if d.NSeqs != len(got) || d.Skipped != 1 {
		t.Errorf("NSeqs %d Skipped %d, callbacks %d; want 4, 1, 4", d.NSeqs, d.Skipped, len(got))
	}
	if r := d.Head(zeroed.Layer, zeroed.Head); math.Abs(r.AblationDLoss-dlossSum/n) > 1e-12 || r.AblationDLoss == 0 {
		t.Errorf("Δloss %.10g, want the mean of Loss(zeroed) − base %.10g (non-zero)", r.AblationDLoss, dlossSum/n)
	}
	if math.Abs(d.Loss-lossSum/n) > 1e-12 {
		t.Errorf("domain loss %.10g, want the mean base loss %.10g", d.Loss, lossSum/n)
	}
	for _, r := range Rules() {
		if r == RuleOutNorm {
			continue
		}
		for i := range d.HeadRes {
			var sum float64
			for _, g := range got {
				sum += g.values[r][i]
			}
			if want := r.Score(&d, i); !near(sum/n, want, 1e-12) {
				t.Errorf("%v head %d: mean per-sequence score %.12g, domain score %.12g", r, i, sum/n, want)
			}
		}
	}
	if _, err := Loss(f, Sequence{IDs: []int{1}}, nil); err == nil {
		t.Error("Loss of a one-token sequence: no error")
	}
}
