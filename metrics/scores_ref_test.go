package metrics_test

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
)

// bruteSeq is one sequence's per-head scores recomputed by brute force,
// [Layers*Heads] each, and its mean attn_mass over all heads.
type bruteSeq struct {
	first, prev, ent, valFirst, valMean, z, zLN, out, outLN, last []float64
	mass                                                          [][]float64 // [head][T]
	sinkIDs                                                       [2]int      // token ids at the top two candidates of the mean mass, -1 when none
}

// bruteScores recomputes, in float64 and straight from the definitions, the
// scores of every head on sequence s from the tensors of a forward pass
// (hook_pattern, hook_v and hook_z of every layer) and the o_proj weights
// wo[l], [DModel][Heads*HeadDim] row-major: W_O^(h) is the column slice
// h·dh..(h+1)·dh, applied as a plain product, without the Gram matrices
// the accumulator uses.
func bruteScores(info model.Info, s metrics.Sequence, c hooks.Cache, wo [][]float32) bruteSeq {
	T, L, H, KV, dh, d := len(s.IDs), info.Layers, info.Heads, info.KVHeads, info.HeadDim, info.DModel
	counted := func(i int) bool { return s.Queries == nil || s.Queries[i] }
	apply := func(l, h int, x []float32) float64 { // ‖W_O^(h) x‖
		var ss float64
		for r := 0; r < d; r++ {
			var y float64
			for j := 0; j < dh; j++ {
				y += float64(wo[l][r*H*dh+h*dh+j]) * float64(x[j])
			}
			ss += y * y
		}
		return math.Sqrt(ss)
	}
	l2 := func(x []float32) float64 {
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		return math.Sqrt(ss)
	}
	ent := func(w []float64) float64 {
		var z, e float64
		for _, x := range w {
			z += x
		}
		for _, x := range w {
			if x > 0 {
				e -= x / z * math.Log(x/z)
			}
		}
		return e
	}
	nq := 0 // counted queries, query 0 included
	last := -1
	for i := 0; i < T; i++ {
		if counted(i) {
			nq++
			if i > 0 {
				last = i
			}
		}
	}
	var b bruteSeq
	for l := 0; l < L; l++ {
		P := c[hooks.At(l, hooks.Pattern)].Data
		V := c[hooks.At(l, hooks.AttnV)].Data
		Z := c[hooks.At(l, hooks.Z)].Data
		var zs, outs []float64
		for h := 0; h < H; h++ {
			A := func(i, k int) float64 { return float64(P[(h*T+i)*T+k]) }
			kv := h / (H / KV)
			var first, prev, row, z, out, n float64
			for i := 1; i < T; i++ {
				if !counted(i) {
					continue
				}
				first += A(i, 0)
				prev += A(i, i-1)
				r := make([]float64, i+1)
				for k := range r {
					r[k] = A(i, k)
				}
				row += ent(r) / math.Log(float64(i+1))
				zi := Z[(i*H+h)*dh : (i*H+h+1)*dh]
				z += l2(zi)
				out += apply(l, h, zi)
				n++
			}
			col := 0.0
			mass := make([]float64, T)
			for k := 0; k < T; k++ {
				var w []float64
				for i := k; i < T; i++ {
					if counted(i) {
						w = append(w, A(i, k))
					}
				}
				col = math.Max(col, ent(w)/math.Log(float64(nq)))
				mass[k] = math.NaN()
				if len(w) > 0 {
					var sum float64
					for _, x := range w {
						sum += x
					}
					mass[k] = sum / float64(len(w))
				}
			}
			var vm float64
			for k := 0; k < T; k++ {
				vm += apply(l, h, V[(k*KV+kv)*dh:(k*KV+kv+1)*dh])
			}
			b.first = append(b.first, first/n)
			b.prev = append(b.prev, prev/n)
			b.ent = append(b.ent, col*(1-row/n))
			b.valFirst = append(b.valFirst, apply(l, h, V[kv*dh:(kv+1)*dh]))
			b.valMean = append(b.valMean, vm/float64(T))
			zs = append(zs, z/n)
			outs = append(outs, out/n)
			b.last = append(b.last, apply(l, h, Z[(last*H+h)*dh:(last*H+h+1)*dh]))
			b.mass = append(b.mass, mass)
		}
		meanZ, meanOut := mean(zs), mean(outs)
		for h := 0; h < H; h++ {
			b.z = append(b.z, zs[h])
			b.out = append(b.out, outs[h])
			b.zLN = append(b.zLN, zs[h]/meanZ)
			b.outLN = append(b.outLN, outs[h]/meanOut)
		}
	}
	// The top two of the first ⌈T/2⌉ keys of attn_mass averaged over every
	// head, by a full sort (ties to the smaller key).
	type key struct {
		k int
		m float64
	}
	var keys []key
	for k := 0; k < (T+1)/2; k++ {
		var sum, n float64
		for _, m := range b.mass {
			if !math.IsNaN(m[k]) {
				sum += m[k]
				n++
			}
		}
		if n > 0 {
			keys = append(keys, key{k, sum / n})
		}
	}
	slices.SortStableFunc(keys, func(a, b key) int {
		switch {
		case a.m > b.m:
			return -1
		case a.m < b.m:
			return 1
		}
		return 0
	})
	b.sinkIDs = [2]int{-1, -1}
	for r := 0; r < 2 && r < len(keys); r++ {
		b.sinkIDs[r] = s.IDs[keys[r].k]
	}
	return b
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// TestScoresMatchBruteForce recomputes every per-head score, the sink rates
// over all keys and the rank-1/2 sink tokens of two real checkpoints (MHA
// with 8 heads over 4 KV heads, and Qwen2's GQA with a value bias) by brute
// force from the tensors `sinkscope dump` captures and the checkpoint's
// o_proj, over three sequences of different lengths (one with a query mask
// that leaves out the last position), and compares them with the
// Accumulator's, per sequence (OnSequence) and per domain. Both sides read
// the same float32 tensors; the brute force computes in float64, the
// accumulator streams the attention in float64 and takes its norms through
// Gram matrices of the float32 W_O columns (summed in float64, applied in a
// float32 product), which differ from the direct product's by at most 7.3e-8
// relative here, and its entropies take log A from the scores (at most
// 2.7e-8 from log of the float32 A here); its forward pass is the same
// deterministic computation.
// 1e-6 (relative for norms, absolute for attention fractions and entropies,
// which lie in [0, 1]) therefore allows for rounding and summation order, yet
// catches any difference of definition; rates and sink tokens, being counts,
// must agree exactly.
func TestScoresMatchBruteForce(t *testing.T) {
	for _, tc := range []struct{ ckpt, ref string }{
		{"hf/stories260K_hf", "stories260K_hf_reference.json"},
		{"hf/qwen2_tiny", "qwen2_tiny_reference.json"},
	} {
		t.Run(filepath.Base(tc.ckpt), func(t *testing.T) {
			m, ck, err := sinkscope.Open(fixtures.Path(t, tc.ckpt), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			var ref reference
			fixtures.ReadJSON(t, filepath.Join("reference", tc.ref), &ref)
			info := m.Info()
			L, H := info.Layers, info.Heads
			wo := make([][]float32, L)
			for l := range wo {
				name := fmt.Sprintf("model.layers.%d.self_attn.o_proj.weight", l)
				w, err := ck.Tensors.Get(name)
				if err != nil {
					t.Fatal(err)
				}
				if want := []int{info.DModel, H * info.HeadDim}; !slices.Equal(w.Shape, want) {
					t.Fatalf("%s: shape %v, want %v", name, w.Shape, want)
				}
				if model.LayerWindow(m, l) != 0 {
					t.Fatalf("layer %d has a sliding window; the brute force assumes none", l)
				}
				wo[l] = w.Float32()
			}
			ids := ref.InputIDs
			Tmax := len(ids)
			masked := metrics.Sequence{IDs: ids[:Tmax/2+1], Queries: make([]bool, Tmax/2+1)}
			for i := range masked.Queries {
				masked.Queries[i] = i%3 != 2 && i != Tmax/2
			}
			// The third sequence starts mid-text, without the first token.
			seqs := []metrics.Sequence{{IDs: ids}, masked, {IDs: ids[5:14]}}

			var perSeq []metrics.SequenceScores
			acc, err := metrics.NewAccumulator(m, metrics.Options{OnSequence: func(s metrics.SequenceScores) {
				c := s
				c.Values = nil
				for _, v := range s.Values {
					c.Values = append(c.Values, slices.Clone(v))
				}
				perSeq = append(perSeq, c)
			}})
			if err != nil {
				t.Fatal(err)
			}
			var brute []bruteSeq
			for _, s := range seqs {
				if err := acc.Add(s); err != nil {
					t.Fatal(err)
				}
				var hs hooks.Set
				c := hooks.Cache{}
				for l := 0; l < L; l++ {
					c.Capture(&hs, hooks.At(l, hooks.Pattern), hooks.At(l, hooks.AttnV), hooks.At(l, hooks.Z))
				}
				if _, err := m.Forward(s.IDs, &hs); err != nil {
					t.Fatal(err)
				}
				brute = append(brute, bruteScores(info, s, c, wo))
			}
			d := acc.Result()

			fields := []struct {
				name     string
				rule     metrics.Rule // -1: no rule
				relative bool
				brute    func(b bruteSeq) []float64
				domain   func(r *metrics.HeadResult) float64
			}{
				{"first_attn", metrics.RuleFirstAttn, false, func(b bruteSeq) []float64 { return b.first }, func(r *metrics.HeadResult) float64 { return r.FirstAttn }},
				{"prev_attn", -1, false, func(b bruteSeq) []float64 { return b.prev }, func(r *metrics.HeadResult) float64 { return r.PrevAttn }},
				{"entropy", metrics.RuleEntropy, false, func(b bruteSeq) []float64 { return b.ent }, func(r *metrics.HeadResult) float64 { return r.EntropyScore }},
				{"value_norm_first", metrics.RuleValueNormFirst, true, func(b bruteSeq) []float64 { return b.valFirst }, func(r *metrics.HeadResult) float64 { return r.ValueNormFirst }},
				{"value_norm_mean", metrics.RuleValueNormMean, true, func(b bruteSeq) []float64 { return b.valMean }, func(r *metrics.HeadResult) float64 { return r.ValueNormMean }},
				{"z_norm", metrics.RuleZNorm, true, func(b bruteSeq) []float64 { return b.z }, func(r *metrics.HeadResult) float64 { return r.ZNorm }},
				{"ahon_ln", metrics.RuleZNormLN, true, func(b bruteSeq) []float64 { return b.zLN }, func(r *metrics.HeadResult) float64 { return r.ZNormLN }},
				{"head_out_norm", metrics.RuleHeadOutNorm, true, func(b bruteSeq) []float64 { return b.out }, func(r *metrics.HeadResult) float64 { return r.HeadOutNorm }},
				{"head_out_norm_ln", metrics.RuleHeadOutNormLN, true, func(b bruteSeq) []float64 { return b.outLN }, func(r *metrics.HeadResult) float64 { return r.HeadOutNormLN }},
				{"last_out_norm", metrics.RuleLastOutNorm, true, func(b bruteSeq) []float64 { return b.last }, func(r *metrics.HeadResult) float64 { return r.LastOutNorm }},
			}
			if len(perSeq) != len(seqs) {
				t.Fatalf("OnSequence called %d times, want %d", len(perSeq), len(seqs))
			}
			for _, f := range fields {
				w := &worst{name: f.name, relative: f.relative, tol: 1e-6}
				for i := range d.HeadRes {
					var sum float64
					for j, b := range brute {
						sum += f.brute(b)[i]
						if f.rule >= 0 {
							w.add(perSeq[j].Score(f.rule, i), f.brute(b)[i], "sequence %d head %d", j, i)
						}
					}
					w.add(f.domain(&d.HeadRes[i]), sum/float64(len(brute)), "domain head %d", i)
				}
				t.Logf("%-17s max diff %.3g (%s)", f.name, w.max, w.where)
				if w.max > w.tol {
					t.Errorf("%s: max difference %.3g at %s, want ≤ %g", f.name, w.max, w.where, w.tol)
				}
			}
			for j, b := range brute {
				if s := perSeq[j]; s.Index != j || s.Heads != H {
					t.Errorf("sequence %d: OnSequence index %d heads %d", j, s.Index, s.Heads)
				}
				var outNorm worst
				for i := range d.HeadRes {
					outNorm.add(perSeq[j].Score(metrics.RuleOutNorm, i), math.Min(1, math.Max(0, 1-b.outLN[i])), "head %d", i)
				}
				if outNorm.max > 1e-6 {
					t.Errorf("sequence %d: per-sequence out_norm off by %.3g at %s", j, outNorm.max, outNorm.where)
				}
			}

			// Domain attn_mass, sinks and sink rates over every key.
			mass := worst{name: "attn_mass", tol: 1e-6}
			var wantSinks [][2]int
			var wantTop []float64 // brute-force domain attn_mass of the top sink
			for i, r := range d.HeadRes {
				dm := make([]float64, Tmax)
				for k := range dm {
					var sum, n float64
					for _, b := range brute {
						if k < len(b.mass[i]) && !math.IsNaN(b.mass[i][k]) {
							sum += b.mass[i][k]
							n++
						}
					}
					dm[k] = sum / n
					mass.add(r.AttnMass[k], dm[k], "head %d key %d", i, k)
				}
				top := [2]int{-1, -1}
				for k := 0; k < (Tmax+1)/2; k++ {
					switch {
					case top[0] < 0 || dm[k] > dm[top[0]]:
						top = [2]int{k, top[0]}
					case top[1] < 0 || dm[k] > dm[top[1]]:
						top[1] = k
					}
				}
				wantSinks = append(wantSinks, top)
				wantTop = append(wantTop, dm[top[0]])
			}
			if mass.max > mass.tol {
				t.Errorf("attn_mass: max difference %.3g at %s", mass.max, mass.where)
			}
			nonFirst := 0
			for i, r := range d.HeadRes {
				if r.Sinks != wantSinks[i] {
					t.Errorf("head %d: sinks %v, want %v", i, r.Sinks, wantSinks[i])
				}
				if wantSinks[i][0] != 0 {
					nonFirst++
				}
			}
			for _, eps := range []float64{0.15, 0.2, metrics.SinkEps, 0.8} {
				n := 0
				for _, m := range wantTop {
					if m > eps {
						n++
					}
				}
				if got, want := d.SinkRateTop(eps), float64(n)/float64(len(d.HeadRes)); math.Abs(got-want) > 1e-12 {
					t.Errorf("SinkRateTop(%g) = %g, want %g", eps, got, want)
				}
				t.Logf("SinkRateTop(%g) = %.3f, SinkRate = %.3f", eps, d.SinkRateTop(eps), d.SinkRate(eps))
			}
			if got, want := d.TopNotFirst(), float64(nonFirst)/float64(len(d.HeadRes)); got != want {
				t.Errorf("TopNotFirst = %g, want %g", got, want)
			}

			// Sink tokens: count the brute-force token ids per rank.
			var want [2][]metrics.TokenCount
			for rank := 0; rank < 2; rank++ {
				counts := map[int]int{}
				for _, b := range brute {
					if id := b.sinkIDs[rank]; id >= 0 {
						counts[id]++
					}
				}
				for id, n := range counts {
					want[rank] = append(want[rank], metrics.TokenCount{ID: id, Count: n})
				}
				slices.SortFunc(want[rank], func(a, b metrics.TokenCount) int {
					if a.Count != b.Count {
						return b.Count - a.Count
					}
					return a.ID - b.ID
				})
			}
			if !reflect.DeepEqual(d.SinkTokens, want) {
				t.Errorf("sink tokens %v, want %v", d.SinkTokens, want)
			}
			t.Logf("sink tokens: rank 1 %v, rank 2 %v", d.SinkTokens[0], d.SinkTokens[1])
		})
	}
}

// TestLossMatchesBaseLoss: on real checkpoints, Loss with an empty hook set
// equals the base loss OnSequence reports bit for bit, for sequences
// shorter and longer than the forward pass's query block (the analysis pass
// builds full attention patterns, a plain pass attends block by block), so
// that a zeroing experiment with nothing zeroed costs exactly 0.
func TestLossMatchesBaseLoss(t *testing.T) {
	for _, ckpt := range []string{"hf/stories260K_hf", "hf/qwen2_tiny"} {
		t.Run(filepath.Base(ckpt), func(t *testing.T) {
			m := openModel(t, fixtures.Path(t, ckpt))
			info := m.Info()
			var base []float64
			acc, err := metrics.NewAccumulator(m, metrics.Options{OnSequence: func(s metrics.SequenceScores) { base = append(base, s.Loss) }})
			if err != nil {
				t.Fatal(err)
			}
			for j, T := range []int{7, 100} {
				ids := make([]int, T)
				for i := range ids {
					ids[i] = (i*37 + 11) % info.Vocab
				}
				s := metrics.Sequence{IDs: ids}
				if err := acc.Add(s); err != nil {
					t.Fatal(err)
				}
				got, err := metrics.Loss(m, s, new(hooks.Set))
				if err != nil {
					t.Fatal(err)
				}
				if got != base[j] || math.IsNaN(got) {
					t.Errorf("T = %d: Loss %.17g, base loss %.17g, want equal", T, got, base[j])
				}
			}
		})
	}
}
