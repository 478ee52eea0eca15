package metrics

import (
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
)

// bruteHead recomputes, straight from the definitions in DESIGN.md §5, one
// head's per-sequence values from captured tensors, in float64.
type bruteHead struct {
	first, dlogit, valFirst, valRest, out float64
	mass                                  []float64
}

func brute(f *fakeModel, s Sequence, c hooks.Cache, l, h int) bruteHead {
	in := f.info
	T, H, KV, dh := len(s.IDs), in.Heads, in.KVHeads, in.HeadDim
	P := c[hooks.At(l, hooks.Pattern)].Data
	S := c[hooks.At(l, hooks.AttnScores)].Data
	V := c[hooks.At(l, hooks.AttnV)].Data
	Z := c[hooks.At(l, hooks.Z)].Data
	at := func(m []float32, i, j int) float64 { return float64(m[(h*T+i)*T+j]) }
	var b bruteHead
	n := 0.0
	for i := 1; i < T; i++ {
		if s.Queries != nil && !s.Queries[i] {
			continue
		}
		b.first += at(P, i, 0)
		mean := 0.0
		for j := 0; j <= i; j++ {
			mean += at(S, i, j)
		}
		b.dlogit += at(S, i, 0) - mean/float64(i+1)
		dst := make([]float32, in.DModel)
		f.HeadOutput(l, h, dst, Z[(i*H+h)*dh:(i*H+h+1)*dh])
		b.out += norm(dst)
		n++
	}
	b.first /= n
	b.dlogit /= n
	b.out /= n
	for k := 0; k < T; k++ {
		sum, cnt := 0.0, 0.0
		for i := k; i < T; i++ {
			if s.Queries == nil || s.Queries[i] {
				sum += at(P, i, k)
				cnt++
			}
		}
		if cnt == 0 {
			b.mass = append(b.mass, math.NaN())
			continue
		}
		b.mass = append(b.mass, sum/cnt)
	}
	kv := h / (H / KV)
	var rest []float64
	for k := 0; k < T; k++ {
		dst := make([]float32, in.DModel)
		f.HeadOutput(l, h, dst, V[(k*KV+kv)*dh:(k*KV+kv+1)*dh])
		if k == 0 {
			b.valFirst = norm(dst)
		} else {
			rest = append(rest, norm(dst))
		}
	}
	sort.Float64s(rest)
	if len(rest)%2 == 1 {
		b.valRest = rest[len(rest)/2]
	} else {
		b.valRest = (rest[len(rest)/2-1] + rest[len(rest)/2]) / 2
	}
	return b
}

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// TestAccumulatorMatchesBruteForce checks every per-head mean over a domain of
// sequences of two lengths, with and without a query mask, against the
// definitions recomputed from captured tensors. Both sides sum the same
// float32 numbers in float64, so 1e-9 (relative) only allows for order.
func TestAccumulatorMatchesBruteForce(t *testing.T) {
	f := newFakeModel(1, 2, 4, 2, 4, 8, 16, 3)
	rng := rand.New(rand.NewPCG(2, 3))
	seqs := []Sequence{}
	for _, ids := range append(randomIDs(rng, 3, 10, 16), randomIDs(rng, 2, 7, 16)...) {
		seqs = append(seqs, Sequence{IDs: ids})
	}
	masked := make([]Sequence, len(seqs))
	for i, s := range seqs {
		q := make([]bool, len(s.IDs))
		for j := range q {
			q[j] = s.IDs[j]%2 == 0 || j == 1
		}
		masked[i] = Sequence{IDs: s.IDs, Queries: q}
	}
	for _, tc := range []struct {
		name string
		seqs []Sequence
	}{{"all queries", seqs}, {"masked", masked}} {
		t.Run(tc.name, func(t *testing.T) {
			acc, err := NewAccumulator(f, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var per [][]bruteHead // [seq][L*H]
			for _, s := range tc.seqs {
				if err := acc.Add(s); err != nil {
					t.Fatal(err)
				}
				var hs hooks.Set
				c := hooks.Cache{}
				c.Capture(&hs, hooks.Points(2)...)
				if _, err := f.Forward(s.IDs, &hs); err != nil {
					t.Fatal(err)
				}
				var row []bruteHead
				for l := 0; l < 2; l++ {
					for h := 0; h < 4; h++ {
						row = append(row, brute(f, s, c, l, h))
					}
				}
				per = append(per, row)
			}
			d := acc.Result()
			if d.NSeqs != len(tc.seqs) {
				t.Fatalf("NSeqs = %d, want %d", d.NSeqs, len(tc.seqs))
			}
			for i, r := range d.HeadRes {
				var w Welford
				var dl, vf, vr, out float64
				mass := make([]float64, 10)
				massN := make([]float64, 10)
				for _, row := range per {
					b := row[i]
					w.Add(b.first)
					dl += b.dlogit
					vf += b.valFirst
					vr += b.valRest
					out += b.out
					for k, m := range b.mass {
						if math.IsNaN(m) {
							continue
						}
						mass[k] += m
						massN[k]++
					}
				}
				n := float64(len(per))
				checks := []struct {
					name      string
					got, want float64
				}{
					{"first_attn", r.FirstAttn, w.Mean()},
					{"first_attn_std", r.FirstAttnStd, w.Std()},
					{"dlogit_first", r.DLogitFirst, dl / n},
					{"value_norm_first", r.ValueNormFirst, vf / n},
					{"value_norm_rest", r.ValueNormRest, vr / n},
					{"head_out_norm", r.HeadOutNorm, out / n},
				}
				for k := range mass {
					checks = append(checks, struct {
						name      string
						got, want float64
					}{"attn_mass", r.AttnMass[k], mass[k] / massN[k]})
				}
				for j, c := range checks {
					// Norms through W_O: the accumulator uses a float64 Gram
					// matrix, the brute force a float32 product, so they
					// agree to float32 rounding (1e-6); the rest to 1e-9.
					tol := 1e-9
					if j >= 3 && j <= 5 {
						tol = 1e-6
					}
					if !near(c.got, c.want, tol) {
						t.Errorf("head %d.%d %s = %.10g, want %.10g", r.Layer, r.Head, c.name, c.got, c.want)
					}
				}
			}
		})
	}
}

// TestSinkBiasMakesDormantHeads: the fake model adds a large bias to key 0's
// score on odd heads, so those must be dormant and the even heads not.
func TestSinkBiasMakesDormantHeads(t *testing.T) {
	f := newFakeModel(3, 2, 4, 4, 4, 8, 16, 12)
	acc, err := NewAccumulator(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range randomIDs(rand.New(rand.NewPCG(4, 4)), 4, 40, 16) {
		if err := acc.Add(Sequence{IDs: ids}); err != nil {
			t.Fatal(err)
		}
	}
	d := acc.Result()
	cls := DefaultClassifier().Classify(&d)
	for i, r := range d.HeadRes {
		if r.Head%2 == 1 {
			if r.FirstAttn < 0.99 || cls[i] != Dormant || r.Sinks[0] != 0 {
				t.Errorf("biased head %d.%d: first_attn %.4f class %s sinks %v, want ≥ 0.99, dormant, key 0 first", r.Layer, r.Head, r.FirstAttn, cls[i], r.Sinks)
			}
			// A dormant head's output is ≈ W_O v_0.
			if !near(r.HeadOutNorm, r.ValueNormFirst, 0.02) {
				t.Errorf("biased head %d.%d: head_out_norm %.4f, want ≈ value_norm_first %.4f", r.Layer, r.Head, r.HeadOutNorm, r.ValueNormFirst)
			}
		} else if cls[i] == Dormant {
			t.Errorf("unbiased head %d.%d classified dormant (first_attn %.3f)", r.Layer, r.Head, r.FirstAttn)
		}
	}
	if got := d.SinkRate(SinkEps); got != 0.5 {
		t.Errorf("sink rate = %g, want 0.5 (the 4 biased heads of 8)", got)
	}
}

// TestAblationMatchesZeroedWeights compares Δloss from hooks.ZeroHead with a
// brute-force model whose W_O columns for that head are zero. The two paths
// do the same float32 arithmetic except the zeroed product, so they agree to
// float32 rounding of the loss (1e-5).
func TestAblationMatchesZeroedWeights(t *testing.T) {
	f := newFakeModel(5, 2, 4, 2, 4, 8, 16, 2)
	heads := []Head{{0, 1}, {1, 2}, {1, 3}}
	forwards := 0
	acc, err := NewAccumulator(f, Options{Ablate: heads, Progress: func() { forwards++ }})
	if err != nil {
		t.Fatal(err)
	}
	seqs := randomIDs(rand.New(rand.NewPCG(6, 6)), 3, 12, 16)
	for _, ids := range seqs {
		if err := acc.Add(Sequence{IDs: ids}); err != nil {
			t.Fatal(err)
		}
	}
	if forwards != 3*(1+len(heads)) {
		t.Errorf("progress called %d times, want %d", forwards, 3*(1+len(heads)))
	}
	d := acc.Result()
	for _, h := range heads {
		g := f.withHeadZeroed(h.Layer, h.Head)
		var want float64
		for _, ids := range seqs {
			s := Sequence{IDs: ids}
			lb, _ := f.Forward(ids, nil)
			la, _ := g.Forward(ids, nil)
			b, _ := crossEntropy(lb, s, 16)
			a, _ := crossEntropy(la, s, 16)
			want += (a - b) / float64(len(seqs))
		}
		r := d.Head(h.Layer, h.Head)
		if !r.Ablated || math.Abs(r.AblationDLoss-want) > 1e-5 {
			t.Errorf("head %v: Δloss %.8f (ablated %v), want %.8f", h, r.AblationDLoss, r.Ablated, want)
		}
		if want == 0 {
			t.Errorf("head %v: brute-force Δloss is exactly 0; the test would not catch a no-op", h)
		}
	}
	if r := d.Head(0, 0); r.Ablated || !math.IsNaN(r.AblationDLoss) {
		t.Errorf("head 0.0 was not ablated but reports %v", r.AblationDLoss)
	}
}

// badModel wraps a fake model and breaks one hook tensor.
type badModel struct {
	*fakeModel
	mode string
}

func (b badModel) Forward(ids []int, hs *hooks.Set) ([]float32, error) {
	var inner hooks.Set
	for _, p := range hooks.Points(b.info.Layers) {
		if !hs.Has(p) {
			continue
		}
		inner.Add(p, func(p hooks.Point, t hooks.Tensor) {
			switch {
			case b.mode == "shape" && p.Kind == hooks.Pattern:
				t.Shape = []int{1, 2, 3}
			case b.mode == "nan" && p.Kind == hooks.ResidPost:
				t.Data[3] = float32(math.NaN())
			}
			hs.Run(p, t)
		})
	}
	return b.fakeModel.Forward(ids, &inner)
}

func TestAccumulatorErrors(t *testing.T) {
	f := newFakeModel(7, 1, 2, 2, 4, 8, 16, 0)
	for _, tc := range []struct {
		name string
		m    badModel
		s    Sequence
		want string
	}{
		{"one token", badModel{f, ""}, Sequence{IDs: []int{1}}, "at least 2"},
		{"out of vocabulary", badModel{f, ""}, Sequence{IDs: []int{1, 16}}, "outside the vocabulary"},
		{"negative id", badModel{f, ""}, Sequence{IDs: []int{-1, 2}}, "outside the vocabulary"},
		{"mask length", badModel{f, ""}, Sequence{IDs: []int{1, 2}, Queries: []bool{true}}, "query mask"},
		{"too long", badModel{f, ""}, Sequence{IDs: make([]int, 65)}, "context of 64"},
		{"bad shape", badModel{f, "shape"}, Sequence{IDs: []int{1, 2, 3}}, "hook_pattern"},
		{"NaN", badModel{f, "nan"}, Sequence{IDs: []int{1, 2, 3}}, "NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc, err := NewAccumulator(tc.m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = acc.Add(tc.s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Add: error %v, want one mentioning %q", err, tc.want)
			}
			if d := acc.Result(); d.NSeqs != 0 || !math.IsNaN(d.HeadRes[0].FirstAttn) {
				t.Errorf("failed sequence was kept: NSeqs %d first_attn %v", d.NSeqs, d.HeadRes[0].FirstAttn)
			}
		})
	}
	if _, err := NewAccumulator(f, Options{Ablate: []Head{{1, 0}}}); err == nil {
		t.Error("ablating head 1.0 of a 1-layer model: no error")
	}
}

// TestMaskWithoutQueriesIsSkipped: a sequence whose mask selects no query
// i ≥ 1 contributes nothing and is counted as skipped.
func TestMaskWithoutQueriesIsSkipped(t *testing.T) {
	f := newFakeModel(8, 1, 2, 2, 4, 8, 16, 0)
	acc, _ := NewAccumulator(f, Options{})
	if err := acc.Add(Sequence{IDs: []int{1, 2, 3}, Queries: []bool{true, false, false}}); err != nil {
		t.Fatal(err)
	}
	if d := acc.Result(); d.NSeqs != 0 || d.Skipped != 1 {
		t.Errorf("NSeqs %d Skipped %d, want 0 and 1", d.NSeqs, d.Skipped)
	}
}

// TestAccumulatorMemoryIsConstant: the accumulator's retained state does not
// grow with the number of sequences (allocations per Add are transient).
func TestAccumulatorMemoryIsConstant(t *testing.T) {
	f := newFakeModel(9, 1, 2, 2, 4, 8, 16, 0)
	acc, _ := NewAccumulator(f, Options{})
	ids := randomIDs(rand.New(rand.NewPCG(1, 1)), 1, 16, 16)[0]
	size := func() int {
		n := 0
		for _, h := range acc.heads {
			n += cap(h.mass) + cap(h.massN)
		}
		return n + len(acc.kv) + len(acc.layers) + cap(acc.stages[0].norms)
	}
	acc.Add(Sequence{IDs: ids})
	before := size()
	for i := 0; i < 200; i++ {
		acc.Add(Sequence{IDs: ids})
	}
	if after := size(); after != before {
		t.Errorf("retained state grew from %d to %d values over 200 sequences", before, after)
	}
	if d := acc.Result(); d.NSeqs != 201 || d.HeadRes[0].FirstAttnStd > 1e-12 {
		t.Errorf("NSeqs %d, std %g over identical sequences, want 201 and 0", d.NSeqs, d.HeadRes[0].FirstAttnStd)
	}
}

// TestInspectMatchesAccumulator: on one sequence the per-token report and the
// accumulator see the same numbers, and Extreme flags the sink of a biased
// head model.
func TestInspectMatchesAccumulator(t *testing.T) {
	f := newFakeModel(11, 2, 4, 2, 4, 8, 16, 12)
	ids := randomIDs(rand.New(rand.NewPCG(3, 9)), 1, 12, 16)[0]
	r, err := Inspect(f, ids)
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := NewAccumulator(f, Options{})
	if err := acc.Add(Sequence{IDs: ids}); err != nil {
		t.Fatal(err)
	}
	d := acc.Result()
	for i, h := range d.HeadRes {
		// ValueNorm: Gram matrix (float64) vs float32 HeadOutput, 1e-6.
		if !near(h.FirstAttn, r.FirstAttn[i], 1e-12) || !near(h.ValueNormFirst, r.ValueNorm[i*r.T], 1e-6) || !near(h.AttnMassFirst(), r.AttnMass[i*r.T], 1e-12) {
			t.Errorf("head %d: accumulator (%g, %g, %g) vs report (%g, %g, %g)", i, h.FirstAttn, h.ValueNormFirst, h.AttnMassFirst(), r.FirstAttn[i], r.ValueNorm[i*r.T], r.AttnMass[i*r.T])
		}
	}
	// Half the heads put ≈ all attention on key 0, so the mean over heads of
	// its mass is ≥ 0.5 > SinkEps in every layer.
	for l := 0; l < 2; l++ {
		if got := r.AttnReceived(l, 0); got < 0.5 || !r.Extreme(l, 0) {
			t.Errorf("layer %d: key 0 receives %.3f (extreme %v), want ≥ 0.5 and extreme", l, got, r.Extreme(l, 0))
		}
	}
}
