package lab

import (
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/hooks"
)

// MinimalStats are the measurements of the minimal residual-peak structure
// (PAPER §4.3) on the evaluation batch: a model whose layer 0 writes the
// BOS residual peak that layer 1's sink and value drain build on.
type MinimalStats struct {
	// ResGap is ‖resid_post₀ at BOS‖ − mean_{k≥1} ‖resid_post₀ at k‖ after
	// layer 0, averaged over the sequences ("Res_BOS − mean Res_other").
	ResGap float64
	// DLogitPositive is the mean of layer 1's Δlogit_BOS (PAPER §1.7, mean
	// over heads) over the non-trigger queries i ≥ 2 where it is positive,
	// pooled over the batch; PositiveShare is the share of those queries
	// with a positive Δlogit_BOS and DLogitMean the mean over all of them.
	DLogitPositive float64
	PositiveShare  float64
	DLogitMean     float64
	// ValueNormBOS is layer 1's ‖W_O v_BOS‖ with the full output projection
	// (LayerRecord.ValueNormBOSFullWO).
	ValueNormBOS float64
	BackcopyRisk float64
	BigramRisk   float64
	BigramExcess float64
}

// MeasureMinimal measures m on the evaluator's batch with the hooks in hs
// (nil for none; hooks.ZeroAttention(0) and hooks.ZeroMLP(0) remove layer 0).
// m needs at least 2 layers and attention in layer 1.
func (e *Evaluator) MeasureMinimal(m *bbtoy.Model, hs *hooks.Set) (MinimalStats, error) {
	c := m.Config()
	if c.Layers < 2 || !c.HasAttn(1) {
		return MinimalStats{}, optionf("the minimal-structure measurements need layer 1 with attention (model has %d layers)", c.Layers)
	}
	T, d, H, dh := e.task.SeqLen(), c.D, c.Heads, c.HeadDim()
	points := []hooks.Point{hooks.At(0, hooks.ResidPost), hooks.At(1, hooks.AttnScores), hooks.At(1, hooks.AttnV)}
	var st MinimalStats
	var risk riskSums
	var gap, dlPos, dlAll float64
	var nPos, nAll int
	out := make([]float32, d)
	for si, s := range e.seqs {
		var all hooks.Set
		for _, p := range hooks.Points(c.Layers) {
			if hs.Has(p) {
				all.Add(p, hs.Run)
			}
		}
		cache := hooks.Cache{}
		cache.Capture(&all, points...)
		logits, err := m.Forward(s[:T], &all)
		if err != nil {
			return MinimalStats{}, fmt.Errorf("bbtoy: evaluation sequence %d: %w", si, err)
		}
		risk.add(riskOf(e.task, s[:T], s[1:], logits))
		res := cache[hooks.At(0, hooks.ResidPost)].Data
		var rest float64
		for k := 1; k < T; k++ {
			rest += norm(res[k*d : (k+1)*d])
		}
		gap += norm(res[:d]) - rest/float64(T-1)
		sc := cache[hooks.At(1, hooks.AttnScores)].Data
		for i := 2; i < T; i++ {
			if e.task.IsTrigger(s[i]) {
				continue
			}
			dl := paperDLogit(sc, T, H, i)
			dlAll += dl
			nAll++
			if dl > 0 {
				dlPos += dl
				nPos++
			}
		}
		if si == 0 {
			v := cache[hooks.At(1, hooks.AttnV)].Data
			sum := make([]float64, d)
			for h := 0; h < H; h++ {
				m.HeadOutput(1, h, out, v[h*dh:(h+1)*dh])
				for k, x := range out {
					sum[k] += float64(x)
				}
			}
			var n2 float64
			for _, x := range sum {
				n2 += x * x
			}
			st.ValueNormBOS = math.Sqrt(n2)
		}
	}
	n := float64(len(e.seqs))
	st.ResGap = gap / n
	st.DLogitPositive, st.PositiveShare, st.DLogitMean = math.NaN(), 0, math.NaN()
	if nPos > 0 {
		st.DLogitPositive = dlPos / float64(nPos)
	}
	if nAll > 0 {
		st.PositiveShare, st.DLogitMean = float64(nPos)/float64(nAll), dlAll/float64(nAll)
	}
	r := risk.record()
	st.BackcopyRisk, st.BigramRisk, st.BigramExcess = r.BackcopyRisk, r.BigramRisk, r.BigramExcess
	return st, nil
}

// RemoveLayer0 returns the hooks that remove layer 0's attention and MLP
// (their outputs zeroed), as `--no-attn 0 --no-mlp 0` would at analysis time.
func RemoveLayer0() *hooks.Set {
	var hs hooks.Set
	hs.Add(hooks.ZeroAttention(0))
	hs.Add(hooks.ZeroMLP(0))
	return &hs
}
