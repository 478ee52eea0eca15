package lab

import (
	"math"
	"testing"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/hooks"
)

// TestMeasureMinimal checks the minimal-structure numbers against sums
// written out here from captured tensors: the residual gap from resid_post of
// layer 0 (and, with layer 0 removed, from the embeddings, which is then what
// layer 0 passes on), Δlogit_BOS from layer 1's scores, ‖W_O v_BOS‖ from the
// record of Measure, which computes it the same way.
func TestMeasureMinimal(t *testing.T) {
	m := smallModel(t, 3, bbtoy.Softmax)
	e := NewEvaluator(m.Task(), 3, 5, 1)
	T, d, H := m.Task().SeqLen(), m.Config().D, m.Config().Heads
	gapOf := func(p hooks.Point) float64 {
		var g float64
		for _, s := range e.seqs {
			var hs hooks.Set
			c := hooks.Cache{}
			c.Capture(&hs, p)
			if _, err := m.Forward(s[:T], &hs); err != nil {
				t.Fatal(err)
			}
			x := c[p].Data
			var rest float64
			for k := 1; k < T; k++ {
				rest += norm(x[k*d : (k+1)*d])
			}
			g += norm(x[:d]) - rest/float64(T-1)
		}
		return g / float64(len(e.seqs))
	}
	full, err := e.MeasureMinimal(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	abl, err := e.MeasureMinimal(m, RemoveLayer0())
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want, tol float64) {
		t.Helper()
		if math.Abs(got-want) > tol*(1+math.Abs(want)) {
			t.Errorf("%s = %.7g, want %.7g (rel. tol %g)", name, got, want, tol)
		}
	}
	near("full ResGap", full.ResGap, gapOf(hooks.At(0, hooks.ResidPost)), 1e-12)
	near("ablated ResGap", abl.ResGap, gapOf(hooks.At(0, hooks.ResidPre)), 1e-6)

	// Δlogit_BOS of layer 1, pooled over non-trigger queries i ≥ 2.
	var pos, all float64
	var nPos, nAll int
	for _, s := range e.seqs {
		var hs hooks.Set
		c := hooks.Cache{}
		p := hooks.At(1, hooks.AttnScores)
		c.Capture(&hs, p)
		if _, err := m.Forward(s[:T], &hs); err != nil {
			t.Fatal(err)
		}
		sc := c[p].Data
		for i := 2; i < T; i++ {
			if m.Task().IsTrigger(s[i]) {
				continue
			}
			var dl float64
			for h := 0; h < H; h++ {
				var r float64
				for j := 1; j < i; j++ {
					r += float64(sc[h*T*T+i*T+j])
				}
				dl += (float64(sc[h*T*T+i*T]) - r/float64(i-1)) / float64(H)
			}
			all += dl
			nAll++
			if dl > 0 {
				pos += dl
				nPos++
			}
		}
	}
	near("DLogitMean", full.DLogitMean, all/float64(nAll), 1e-9)
	near("DLogitPositive", full.DLogitPositive, pos/float64(nPos), 1e-9)
	near("PositiveShare", full.PositiveShare, float64(nPos)/float64(nAll), 0)
	rec, err := e.Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	near("ValueNormBOS", full.ValueNormBOS, rec.Layers[1].ValueNormBOSFullWO, 1e-12)
	near("BackcopyRisk", full.BackcopyRisk, rec.BackcopyRisk, 1e-12)
	if abl.ValueNormBOS == full.ValueNormBOS || abl.BackcopyRisk == full.BackcopyRisk {
		t.Errorf("removing layer 0 changed nothing downstream: %+v vs %+v", abl, full)
	}
	if _, err := e.MeasureMinimal(smallModel(t, 1, bbtoy.Softmax), nil); err == nil {
		t.Error("a 1-layer model was measured")
	}
}
