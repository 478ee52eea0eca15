package bbtoy

import (
	"math"
	"slices"
	"testing"
)

// TestAdamWSGD checks one parameter's trajectory against the update rules
// of torch.optim.AdamW and torch.optim.SGD written out in float64 (the
// float32 implementation agrees to float32 rounding, 1e-6 relative).
func TestAdamWSGD(t *testing.T) {
	grads := []float64{0.5, -0.25, 1.0, 0.0}
	for _, oc := range []OptimConfig{
		{Name: AdamW, LR: 0.1, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.01},
		{Name: SGD, LR: 0.1, Momentum: 0.9, WeightDecay: 0.01},
		{Name: SGD, LR: 0.1},
	} {
		o := newOptimizer(oc, 1)
		p := []float32{1}
		want := 1.0
		var m, v, buf float64
		for i, g := range grads {
			o.step(p, []float32{float32(g)})
			step := float64(i + 1)
			if oc.Name == AdamW {
				want *= 1 - oc.LR*oc.WeightDecay
				m = oc.Beta1*m + (1-oc.Beta1)*g
				v = oc.Beta2*v + (1-oc.Beta2)*g*g
				mh := m / (1 - math.Pow(oc.Beta1, step))
				vh := v / (1 - math.Pow(oc.Beta2, step))
				want -= oc.LR * mh / (math.Sqrt(vh) + oc.Eps)
			} else {
				gg := g + oc.WeightDecay*want
				if i == 0 {
					buf = gg
				} else {
					buf = oc.Momentum*buf + gg
				}
				if oc.Momentum == 0 {
					buf = gg
				}
				want -= oc.LR * buf
			}
			if math.Abs(float64(p[0])-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Fatalf("%s step %d: p = %.8f, want %.8f", oc.Name, i+1, p[0], want)
			}
		}
	}
}

// TestTrainDeterministic: the same seed gives bit-identical weights whatever
// the number of threads (gradients are summed per fixed chunk, in order).
func TestTrainDeterministic(t *testing.T) {
	task := BuiltinTask()
	var got [][]float32
	for _, threads := range []int{1, 2, 3} {
		tr, err := NewTrainer(task, TrainConfig{Model: DefaultConfig(task, 8, 1), Optim: DefaultAdamW(1e-3), Batch: 10, Seed: 5, Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			tr.Step()
		}
		got = append(got, slices.Clone(tr.Model().params))
	}
	for i := 1; i < len(got); i++ {
		if !slices.Equal(got[0], got[i]) {
			t.Fatalf("weights after 2 steps differ between 1 and %d threads", []int{1, 2, 3}[i])
		}
	}
}
