package metrics

import (
	"cmp"
	"fmt"
	"math"
	"sync"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/stats"
	"github.com/sinkscope/sinkscope/model"
)

// SinkEps is the attention mass above which a key counts as a sink (Gu et
// al.'s ε).
const SinkEps = 0.3

// PeakFactor is how many times the median residual norm of its layer a token's
// norm must reach to count as a residual-state peak.
const PeakFactor = 5

// TokenReport holds the per-position statistics of one sequence: what the
// `tokens` command prints and what the reference fixtures list per position.
// Slices are flattened row-major in the order of their shape comment.
type TokenReport struct {
	IDs                    []int // [T]
	T                      int
	Layers, Heads, KVHeads int

	FirstAttn    []float64 // [Layers][Heads] mean over queries i ≥ 1 of A[i,0]
	AttnMass     []float64 // [Layers][Heads][T] Σ_{i≥k} A[i,k] / (T−k)
	DLogit       []float64 // [Layers][Heads][T] S[i,0] − mean_{j≤i} S[i,j] (query i)
	ValueNorm    []float64 // [Layers][Heads][T] ‖W_O^(h) v_k‖
	RawValueNorm []float64 // [Layers][KVHeads][T] ‖v_k‖
	ResidNorm    []float64 // [Layers][T] ‖hook_resid_post‖
	MaxAbs       []float64 // [Layers][T] largest |x| of the residual state
	Massive      []int     // [Layers][T] massive coordinates of the residual state
}

// Inspect runs m once on ids (used exactly as given) and returns the
// per-position statistics.
func Inspect(m model.Model, ids []int) (*TokenReport, error) { return InspectWith(m, ids, nil) }

// InspectWith is Inspect with more hooks in the same forward pass: extra,
// when not nil, is called with the pass's hook set after Inspect has added
// its own, so that a caller can read further points (such as the full
// attention patterns) without a second pass. Its hooks must only read.
func InspectWith(m model.Model, ids []int, extra func(*hooks.Set)) (*TokenReport, error) {
	info := m.Info()
	s := Sequence{IDs: ids}
	if err := s.validate(info); err != nil {
		return nil, err
	}
	T, L, H, KV, dh, d := len(ids), info.Layers, info.Heads, info.KVHeads, info.HeadDim, info.DModel
	r := &TokenReport{
		IDs: append([]int(nil), ids...), T: T, Layers: L, Heads: H, KVHeads: KV,
		FirstAttn:    nans(L * H),
		AttnMass:     nans(L * H * T),
		DLogit:       nans(L * H * T),
		ValueNorm:    nans(L * H * T),
		RawValueNorm: nans(L * KV * T),
		ResidNorm:    nans(L * T),
		MaxAbs:       nans(L * T),
		Massive:      make([]int, L*T),
	}
	var herr error
	check := func(p hooks.Point, t hooks.Tensor, want ...int) bool {
		n := 1
		ok := len(t.Shape) == len(want)
		for i := 0; ok && i < len(want); i++ {
			ok = t.Shape[i] == want[i]
			n *= want[i]
		}
		if (!ok || len(t.Data) != n) && herr == nil {
			herr = fmt.Errorf("metrics: hook %v: tensor of shape %v, want %v", p, t.Shape, want)
			return false
		}
		return ok
	}
	dst := make([]float32, d)
	var abs []float64
	var hs hooks.Set
	var mu sync.Mutex // block hooks may run concurrently
	streams := make([]attnStream, L*H)
	for i := range streams {
		streams[i].reset(T, model.LayerWindow(m, i/H), true)
	}
	for l := 0; l < L; l++ {
		hs.AddBlocks(l, func(b hooks.Block) {
			if b.Head < 0 || b.Head >= H {
				mu.Lock()
				herr = cmp.Or(herr, fmt.Errorf("metrics: layer %d: hook_pattern block of head %d, want one of %d heads", l, b.Head, H))
				mu.Unlock()
				return
			}
			streams[l*H+b.Head].add(b, s)
		})
		hs.Add(hooks.At(l, hooks.AttnV), func(p hooks.Point, t hooks.Tensor) {
			if !check(p, t, T, KV, dh) {
				return
			}
			for h := 0; h < H; h++ {
				kv := h / (H / KV)
				for k := 0; k < T; k++ {
					m.HeadOutput(l, h, dst, t.Data[(k*KV+kv)*dh:(k*KV+kv+1)*dh])
					r.ValueNorm[(l*H+h)*T+k] = norm(dst)
				}
			}
			for kv := 0; kv < KV; kv++ {
				for k := 0; k < T; k++ {
					r.RawValueNorm[(l*KV+kv)*T+k] = norm(t.Data[(k*KV+kv)*dh : (k*KV+kv+1)*dh])
				}
			}
		})
		hs.Add(hooks.At(l, hooks.ResidPost), func(p hooks.Point, t hooks.Tensor) {
			if !check(p, t, T, d) {
				return
			}
			for k := 0; k < T; k++ {
				x := t.Data[k*d : (k+1)*d]
				if !finite(x) && herr == nil {
					herr = fmt.Errorf("metrics: layer %d: residual stream at position %d holds NaN or Inf", l, k)
				}
				r.ResidNorm[l*T+k] = norm(x)
				r.MaxAbs[l*T+k], r.Massive[l*T+k], abs = massive(x, abs)
			}
		})
	}
	if extra != nil {
		extra(&hs)
	}
	if _, err := m.Forward(ids, &hs); err != nil {
		return nil, fmt.Errorf("metrics: forward pass: %w", err)
	}
	if herr != nil {
		return nil, herr
	}
	cnt := countQueries(nil, s)
	for i := range streams {
		var v values
		if _, err := streams[i].finish(i/H, i%H, &v, cnt); err != nil {
			return nil, err
		}
		r.FirstAttn[i] = v[statFirst]
		copy(r.AttnMass[i*T:(i+1)*T], streams[i].mass)
		copy(r.DLogit[i*T+1:(i+1)*T], streams[i].dlogitQ[1:])
	}
	return r, nil
}

func nans(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.NaN()
	}
	return out
}

// AttnReceived is the mean over heads of layer l of the attention mass key k
// receives.
func (r *TokenReport) AttnReceived(l, k int) float64 {
	var s float64
	for h := 0; h < r.Heads; h++ {
		s += r.AttnMass[(l*r.Heads+h)*r.T+k]
	}
	return s / float64(r.Heads)
}

// MeanValueNorm is the mean over heads of layer l of ‖W_O^(h) v_k‖.
func (r *TokenReport) MeanValueNorm(l, k int) float64 {
	var s float64
	for h := 0; h < r.Heads; h++ {
		s += r.ValueNorm[(l*r.Heads+h)*r.T+k]
	}
	return s / float64(r.Heads)
}

// Extreme reports whether token k is an extreme token at layer l: a sink
// (AttnReceived > SinkEps, for a candidate key in the first half of the
// sequence, so that the last keys, averaged over very few queries, do not
// qualify by chance), the carrier of a massive activation, or a residual-state peak
// (norm ≥ PeakFactor × the layer's median token norm).
func (r *TokenReport) Extreme(l, k int) bool {
	if (k < candidates(r.T) && r.AttnReceived(l, k) > SinkEps) || r.Massive[l*r.T+k] > 0 {
		return true
	}
	med := stats.Median(r.ResidNorm[l*r.T : (l+1)*r.T])
	return r.ResidNorm[l*r.T+k] >= PeakFactor*med
}
