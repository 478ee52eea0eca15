package metrics_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
)

// fullPatterns hides a model's blocked attention: it hooks every layer's
// full hook_attn_scores and hook_pattern, so the model builds the [H, T, T]
// tensors and the accumulator's reducers receive them whole, one block per
// head, as from a model without a blocked attention. It is not a
// model.Batcher, so sequences go one at a time.
type fullPatterns struct{ model.Model }

func (f fullPatterns) Forward(ids []int, hs *hooks.Set) ([]float32, error) {
	var inner hooks.Set
	for _, p := range hooks.Points(f.Info().Layers) {
		if hs.Has(p) {
			inner.Add(p, func(p hooks.Point, t hooks.Tensor) { hs.Run(p, t) })
		}
	}
	return f.Model.Forward(ids, &inner)
}

// TestStreamedEqualsFullPattern: on a real checkpoint, with sequences longer
// than the attention's query block and a value per head on every score, the
// accumulator's results are the same whether its reducers stream the blocks
// of the blocked attention (batched, and one at a time: bit for bit the same)
// or receive each layer's full pattern: to 1e-6 (relative for norms, absolute
// for attention fractions and entropies), the summation order of the blocked
// and the full attention's weighted sums being the only difference.
func TestStreamedEqualsFullPattern(t *testing.T) {
	m, ck, err := sinkscope.Open(fixtures.Path(t, "hf/stories260K_hf"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var seqs []metrics.Sequence
	for i, T := range []int{150, 150, 150, 97} {
		s := metrics.Sequence{IDs: make([]int, T)}
		for k := range s.IDs {
			s.IDs[k] = rng.IntN(m.Info().Vocab)
		}
		if i == 1 {
			s.Queries = make([]bool, T)
			for k := range s.Queries {
				s.Queries[k] = k%4 != 1
			}
		}
		seqs = append(seqs, s)
	}
	ablate := []metrics.Head{{Layer: 1, Head: 2}}
	run := func(m model.Model, batch bool) *metrics.DomainResult {
		acc, err := metrics.NewAccumulator(m, metrics.Options{Ablate: ablate})
		if err != nil {
			t.Fatal(err)
		}
		if batch {
			err = acc.AddBatch(seqs[:3])
			if err == nil {
				err = acc.AddBatch(seqs[3:])
			}
		} else {
			for _, s := range seqs {
				if err = acc.Add(s); err != nil {
					break
				}
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		d := acc.Result()
		return &d
	}
	batched, single, full := run(m, true), run(m, false), run(fullPatterns{m}, false)
	if !reflect.DeepEqual(nanless(batched), nanless(single)) {
		t.Error("batched results differ from one-at-a-time results")
	}
	if batched.NSeqs != 4 || len(batched.HeadRes[0].AttnMass) != 150 {
		t.Fatalf("%d sequences, %d keys of attention mass; want 4 and 150", batched.NSeqs, len(batched.HeadRes[0].AttnMass))
	}
	if !nearOrNaN(batched.Loss, full.Loss, 1e-6) {
		t.Errorf("loss %v streamed, %v from full patterns", batched.Loss, full.Loss)
	}
	for i := range batched.HeadRes {
		g, w := reflect.ValueOf(batched.HeadRes[i]), reflect.ValueOf(full.HeadRes[i])
		for f := 0; f < g.NumField(); f++ {
			name := g.Type().Field(f).Name
			switch g.Field(f).Kind() {
			case reflect.Float64:
				if !nearOrNaN(g.Field(f).Float(), w.Field(f).Float(), 1e-6) {
					t.Errorf("head %d %s: streamed %v, from full patterns %v", i, name, g.Field(f).Float(), w.Field(f).Float())
				}
			case reflect.Slice:
				for k := 0; k < g.Field(f).Len(); k++ {
					if a, b := g.Field(f).Index(k).Float(), w.Field(f).Index(k).Float(); !nearOrNaN(a, b, 1e-6) {
						t.Errorf("head %d %s[%d]: streamed %v, from full patterns %v", i, name, k, a, b)
					}
				}
			default:
				if !reflect.DeepEqual(g.Field(f).Interface(), w.Field(f).Interface()) {
					t.Errorf("head %d %s: streamed %v, from full patterns %v", i, name, g.Field(f).Interface(), w.Field(f).Interface())
				}
			}
		}
	}
}

// nearOrNaN reports whether a and b agree to tol (relative beyond 1), or are
// both NaN.
func nearOrNaN(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

// nanless returns d with every NaN replaced by a sentinel, so that
// reflect.DeepEqual compares results bit for bit.
func nanless(d *metrics.DomainResult) metrics.DomainResult {
	c := *d
	c.HeadRes = append([]metrics.HeadResult(nil), d.HeadRes...)
	for i := range c.HeadRes {
		v := reflect.ValueOf(&c.HeadRes[i]).Elem()
		for f := 0; f < v.NumField(); f++ {
			switch fv := v.Field(f); fv.Kind() {
			case reflect.Float64:
				if math.IsNaN(fv.Float()) {
					fv.SetFloat(-12345)
				}
			case reflect.Slice:
				s := reflect.MakeSlice(fv.Type(), fv.Len(), fv.Len())
				reflect.Copy(s, fv)
				for k := 0; k < s.Len(); k++ {
					if math.IsNaN(s.Index(k).Float()) {
						s.Index(k).SetFloat(-12345)
					}
				}
				fv.Set(s)
			}
		}
	}
	if math.IsNaN(c.Loss) {
		c.Loss = -12345
	}
	return c
}
