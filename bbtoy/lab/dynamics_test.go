package lab

import (
	"math"
	"reflect"
	"testing"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/hooks"

	"gonum.org/v1/gonum/stat"

	"github.com/sinkscope/sinkscope/internal/stats"
	"github.com/sinkscope/sinkscope/metrics"
)

// TestMeasureMatchesAccumulator: a record's sinkscope statistics are the
// means over each layer's heads of a metrics.Accumulator run on the
// evaluator's batch (the model's first SeqLen tokens of each sequence, in
// order) with the non-trigger or the trigger query mask, to the bit, with
// one thread or two.
func TestMeasureMatchesAccumulator(t *testing.T) {
	m := smallModel(t, 2, bbtoy.Softmax)
	e := NewEvaluator(m.Task(), 3, 7, 2)
	got, err := e.Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	T := m.Task().SeqLen()
	result := func(trigger bool) metrics.DomainResult {
		acc, err := metrics.NewAccumulator(m, metrics.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range e.seqs {
			q := make([]bool, T)
			for i, id := range s[:T] {
				q[i] = m.Task().IsTrigger(id) == trigger && id != m.Task().BOS()
			}
			if err := acc.Add(metrics.Sequence{IDs: s[:T], Queries: q}); err != nil {
				t.Fatal(err)
			}
		}
		return acc.Result()
	}
	non, trig := result(false), result(true)
	mean := func(d metrics.DomainResult, l int, f func(metrics.HeadResult) float64) float64 {
		var xs []float64
		for h := 0; h < d.Heads; h++ {
			xs = append(xs, f(*d.Head(l, h)))
		}
		return stat.Mean(xs, nil)
	}
	for l, lr := range got.Layers {
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"first_attn", lr.FirstAttn, mean(non, l, func(h metrics.HeadResult) float64 { return h.FirstAttn })},
			{"first_attn_trigger", lr.FirstAttnTrigger, mean(trig, l, func(h metrics.HeadResult) float64 { return h.FirstAttn })},
			{"prev_attn_trigger", lr.PrevAttnTrigger, mean(trig, l, func(h metrics.HeadResult) float64 { return h.PrevAttn })},
			{"dlogit_first", lr.DLogitFirst, mean(non, l, func(h metrics.HeadResult) float64 { return h.DLogitFirst })},
			{"value_norm_first", lr.ValueNormFirst, mean(non, l, func(h metrics.HeadResult) float64 { return h.ValueNormFirst })},
			{"value_norm_rest", lr.ValueNormRest, mean(non, l, func(h metrics.HeadResult) float64 { return h.ValueNormRest })},
			{"resid_norm_first", lr.ResidNormFirst, non.Resid[l].ResidNormFirst},
			{"resid_norm_rest", lr.ResidNormRest, non.Resid[l].ResidNormRest},
		} {
			if c.got != c.want || math.IsNaN(c.got) {
				t.Errorf("layer %d: %s %v, want the accumulator's %v", l, c.name, c.got, c.want)
			}
		}
	}
	e.threads = 1
	one, err := e.Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, got) {
		t.Errorf("one thread: %+v\ntwo threads: %+v", one, got)
	}
}

// TestMeasurePaper checks the paper's pooled numbers, computed from hook
// tensors, against the same definitions written out on the forward pass's
// internal activations, for softmax and ReLU attention.
func TestMeasurePaper(t *testing.T) {
	for _, attn := range []string{bbtoy.Softmax, bbtoy.ReLU} {
		m := smallModel(t, 2, attn)
		e := NewEvaluator(m.Task(), 2, 3, 2)
		got, err := e.Measure(m)
		if err != nil {
			t.Fatal(err)
		}
		c, task := m.Config(), m.Task()
		T, H, dh := task.SeqLen(), c.Heads, c.HeadDim()
		var risk riskSums
		for l := range got.Layers {
			var attn0 float64
			var nAttn int
			dlSum, dlCnt := make([]float64, c.Vocab), make([]int, c.Vocab)
			var vBOS, rBOS float64
			for si, s := range e.seqs {
				in := s[:T]
				var hs hooks.Set
				cache := hooks.Cache{}
				cache.Capture(&hs, hooks.At(l, hooks.Pattern), hooks.At(l, hooks.AttnScores), hooks.At(l, hooks.AttnV), hooks.At(l, hooks.ResidPost))
				logits, err := m.Forward(in, &hs)
				if err != nil {
					t.Fatal(err)
				}
				if l == 0 {
					risk.add(riskOf(task, in, s[1:], logits))
				}
				la := struct{ a, s, v, out []float32 }{cache[hooks.At(l, hooks.Pattern)].Data, cache[hooks.At(l, hooks.AttnScores)].Data,
					cache[hooks.At(l, hooks.AttnV)].Data, cache[hooks.At(l, hooks.ResidPost)].Data}
				if si == 0 {
					rBOS = norm(la.out[:c.D])
					// W_O v_BOS: the sum over heads of each head's W_O slice times its part of v_BOS.
					vo, part := make([]float32, c.D), make([]float32, c.D)
					for h := 0; h < H; h++ {
						m.HeadOutput(l, h, part, la.v[h*dh:(h+1)*dh])
						for j := range vo {
							vo[j] += part[j]
						}
					}
					vBOS = norm(vo)
				}
				for i := 0; i < T; i++ {
					for h := 0; h < H; h++ {
						if !task.IsTrigger(in[i]) {
							attn0 += float64(la.a[h*T*T+i*T])
							nAttn++
						}
					}
					if i < 2 {
						continue
					}
					var dl float64
					for h := 0; h < H; h++ {
						row := la.s[h*T*T+i*T:]
						var rest float64
						for j := 1; j < i; j++ {
							rest += float64(row[j])
						}
						dl += float64(row[0]) - rest/float64(i-1)
					}
					dlSum[in[i]] += dl / float64(H)
					dlCnt[in[i]]++
				}
			}
			var non, trig []float64
			for v, n := range dlCnt {
				if n > 0 && task.IsTrigger(v) {
					trig = append(trig, dlSum[v]/float64(n))
				} else if n > 0 {
					non = append(non, dlSum[v]/float64(n))
				}
			}
			lr := got.Layers[l]
			for _, x := range []struct {
				name      string
				got, want float64
				tol       float64
			}{
				{"attn_bos_paper", lr.AttnBOSPaper, attn0 / float64(nAttn), 1e-12},
				{"value_norm_bos_full_wo", lr.ValueNormBOSFullWO, vBOS, 1e-5},
				{"dlogit_paper_mean", lr.DLogitPaperMean, stat.Mean(non, nil), 1e-12},
				{"dlogit_paper_q10", lr.DLogitPaperQ10, stats.Quantile(non, 0.1), 1e-12},
				{"dlogit_paper_q90", lr.DLogitPaperQ90, stats.Quantile(non, 0.9), 1e-12},
				{"dlogit_paper_trigger", lr.DLogitPaperTrigger, stat.Mean(trig, nil), 1e-12},
				{"res_bos_paper", lr.ResBOSPaper, rBOS, 0},
			} {
				if !(math.Abs(x.got-x.want) <= x.tol*math.Max(1, math.Abs(x.want))) {
					t.Errorf("%s layer %d: %s %v, want %v", attn, l, x.name, x.got, x.want)
				}
			}
		}
		want := risk.record()
		if got.Loss != want.Loss || got.BackcopyRisk != want.BackcopyRisk || got.BigramRisk != want.BigramRisk {
			t.Errorf("%s: loss %v backcopy %v bigram %v, want %v %v %v", attn, got.Loss, got.BackcopyRisk, got.BigramRisk,
				want.Loss, want.BackcopyRisk, want.BigramRisk)
		}
	}
}

// TestStepZeroLoss: a fresh model's loss is near log(67) ≈ 4.20 plus the
// spread of the initial logits (the paper's step 0: 4.30 / 4.43).
func TestStepZeroLoss(t *testing.T) {
	task := bbtoy.BuiltinTask()
	for _, d := range []int{32, 64} {
		m, err := bbtoy.NewModel(bbtoy.DefaultConfig(task, d, 1), task, 42)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewEvaluator(task, 16, 42, 2).Measure(m)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("d=%d: step-0 loss %.4f", d, r.Loss)
		if r.Loss < 4.2 || r.Loss > 4.5 {
			t.Errorf("d=%d: step-0 loss %.4f, want in [4.2, 4.5]", d, r.Loss)
		}
	}
}

// smallModel is a fresh 2-head model of width 16 with the given layers and
// attention.
func smallModel(t *testing.T, layers int, attn string) *bbtoy.Model {
	t.Helper()
	task := bbtoy.BuiltinTask()
	c := bbtoy.DefaultConfig(task, 16, layers)
	c.Heads, c.Attention = 2, attn
	m, err := bbtoy.NewModel(c, task, 9)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
