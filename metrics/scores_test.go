package metrics

import (
	"math"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/model"
)

// tensorModel emits hand-made hook tensors: for a sequence of T tokens the
// tensors of byT[T] at layer 0, and zero logits. Its output projection is
// W_O^(h) = scale[h] · I (d_model = d_head).
type tensorModel struct {
	info  model.Info
	scale []float32 // [H]
	byT   map[int]map[hooks.Kind][]float32
}

func (m *tensorModel) Info() model.Info { return m.info }

func (m *tensorModel) HeadOutput(_, h int, dst, z []float32) {
	for i := range dst {
		dst[i] = m.scale[h] * z[i]
	}
}

func (m *tensorModel) Forward(ids []int, hs *hooks.Set) ([]float32, error) {
	T, in := len(ids), m.info
	shapes := map[hooks.Kind][]int{
		hooks.AttnV:   {T, in.KVHeads, in.HeadDim},
		hooks.Pattern: {in.Heads, T, T},
		hooks.Z:       {T, in.Heads, in.HeadDim},
	}
	for _, k := range []hooks.Kind{hooks.AttnV, hooks.Pattern, hooks.Z} {
		hs.Run(hooks.At(0, k), hooks.Tensor{Shape: shapes[k], Data: append([]float32(nil), m.byT[T][k]...)})
	}
	return make([]float32, T*in.Vocab), nil
}

// TestScoresByHand runs two hand-made sequences through an Accumulator and
// checks each new score against values worked out by hand, per sequence
// (OnSequence) and averaged over the two (HeadResult). Head 0 writes through
// 2·I, head 1 through I; both read the one KV head, d_head = 2.
//
// Sequence A (T = 3, all queries): v = (3,4), (0,1), (1,0);
// z of head 0 at queries 1, 2 = (3,4), (0,1); of head 1 = (6,8), (0,2).
// Sequence B (T = 2): v = (0,2), (0,0); z at query 1 = (1,0) and (0,3).
func TestScoresByHand(t *testing.T) {
	pat3 := append(append([]float32(nil), pattern3...), pattern3...)
	pat2 := []float32{1, 0, 1, 0, 1, 0, 0.5, 0.5} // head 0 a sink, head 1 split
	m := &tensorModel{
		info:  model.Info{Arch: "Tensors", Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 2, DModel: 2, Vocab: 4},
		scale: []float32{2, 1},
		byT: map[int]map[hooks.Kind][]float32{
			3: {
				hooks.AttnV:   {3, 4, 0, 1, 1, 0},
				hooks.Pattern: pat3,
				hooks.Z:       {9, 9, 9, 9, 3, 4, 6, 8, 0, 1, 0, 2},
			},
			2: {
				hooks.AttnV:   {0, 2, 0, 0},
				hooks.Pattern: pat2,
				hooks.Z:       {9, 9, 9, 9, 1, 0, 0, 3},
			},
		},
	}
	var seen []SequenceScores
	acc, err := NewAccumulator(m, Options{OnSequence: func(s SequenceScores) {
		c := s
		c.Values = make([][]float64, len(s.Values))
		for r := range s.Values {
			c.Values[r] = append([]float64(nil), s.Values[r]...)
		}
		seen = append(seen, c)
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Sequence{{IDs: []int{0, 1, 2}}, {IDs: []int{3, 3}, Queries: []bool{false, false}}, {IDs: []int{1, 2}}} {
		if err := acc.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	d := acc.Result()

	// Entropy of pattern3 (both heads of A): see TestAttentionReducersByHand.
	h3 := -(0.2*math.Log(0.2) + 0.3*math.Log(0.3) + 0.5*math.Log(0.5))
	rowA := (1 + h3/math.Log(3)) / 2
	colA := -((1/1.7)*math.Log(1/1.7) + (.5/1.7)*math.Log(.5/1.7) + (.2/1.7)*math.Log(.2/1.7)) / math.Log(3)
	entA := colA * (1 - rowA)
	// B: head 0 is a sink (row entropy 0, column 0 = (1, 1): entropy log 2 / log 2 = 1);
	// head 1's one counted row is (.5, .5): row entropy 1, score 0.
	type want struct {
		rule Rule
		seq  [2][2]float64 // [sequence A, B][head]
	}
	wants := []want{
		{RuleFirstAttn, [2][2]float64{{0.35, 0.35}, {1, 0.5}}},
		{RuleEntropy, [2][2]float64{{entA, entA}, {1, 0}}},
		// ‖W_O v‖: head 0 2·(5, 1, 1), head 1 (5, 1, 1); B: 2·(2, 0), (2, 0).
		{RuleValueNormFirst, [2][2]float64{{10, 5}, {4, 2}}},
		{RuleValueNormMean, [2][2]float64{{14.0 / 3, 7.0 / 3}, {2, 1}}},
		// ‖z‖ over queries 1, 2: head 0 (5+1)/2, head 1 (10+2)/2; B: 1 and 3.
		{RuleZNorm, [2][2]float64{{3, 6}, {1, 3}}},
		{RuleZNormLN, [2][2]float64{{3 / 4.5, 6 / 4.5}, {0.5, 1.5}}},
		// ‖W_O z‖: head 0 2·3, head 1 6; B: 2 and 3.
		{RuleHeadOutNorm, [2][2]float64{{6, 6}, {2, 3}}},
		{RuleHeadOutNormLN, [2][2]float64{{1, 1}, {0.8, 1.2}}},
		{RuleOutNorm, [2][2]float64{{0, 0}, {0.2, 0}}},
		// At the last counted query (2 in A, 1 in B).
		{RuleLastOutNorm, [2][2]float64{{2, 2}, {2, 3}}},
	}
	if len(seen) != 2 || seen[0].Index != 0 || seen[1].Index != 1 || d.NSeqs != 2 || d.Skipped != 1 {
		t.Fatalf("OnSequence saw %d sequences; NSeqs %d Skipped %d, want 2 (indices 0, 1), 2 and 1", len(seen), d.NSeqs, d.Skipped)
	}
	if len(wants) != len(Rules()) {
		t.Errorf("%d rules checked of %d", len(wants), len(Rules()))
	}
	for j, s := range seen {
		// Zero logits over 4 tokens: every position costs log 4.
		if s.Loss != math.Log(4) || s.Heads != 2 {
			t.Errorf("sequence %d: loss %g heads %d, want log 4 and 2", j, s.Loss, s.Heads)
		}
	}
	for _, w := range wants {
		for j, s := range seen {
			for h := 0; h < 2; h++ {
				if got := s.Score(w.rule, h); math.Abs(got-w.seq[j][h]) > 1e-7 {
					t.Errorf("%v: sequence %d head %d = %.9g, want %.9g", w.rule, j, h, got, w.seq[j][h])
				}
			}
		}
		if w.rule == RuleOutNorm {
			continue // its domain score comes from the domain means
		}
		for h := 0; h < 2; h++ {
			mean := (w.seq[0][h] + w.seq[1][h]) / 2
			if got := w.rule.Score(&d, h); math.Abs(got-mean) > 1e-7 {
				t.Errorf("%v: head %d domain score %.9g, want the mean %.9g", w.rule, h, got, mean)
			}
		}
	}
	// out_norm from the domain means: head_out_norm (4, 4.5), layer mean 4.25.
	if got := RuleOutNorm.Score(&d, 0); math.Abs(got-(1-4/4.25)) > 1e-12 {
		t.Errorf("out_norm of head 0 = %g, want %g", got, 1-4/4.25)
	}
	// Per-sequence ratios averaged, not the ratio of the averages (2/3.25).
	if got := d.Head(0, 0).ZNormLN; math.Abs(got-(3/4.5+0.5)/2) > 1e-12 {
		t.Errorf("ZNormLN of head 0 = %g, want the mean of per-sequence ratios %g", got, (3/4.5+0.5)/2)
	}
	for h, want := range []float64{(0.4 + 1) / 2, (0.4 + 0.5) / 2} {
		if got := d.Head(0, h).PrevAttn; math.Abs(got-want) > 1e-7 {
			t.Errorf("PrevAttn of head %d = %g, want %g", h, got, want)
		}
	}
}
