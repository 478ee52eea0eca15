package metrics

import (
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/internal/stats"
)

// The hooks of an analysis pass reduce each layer's tensors to the current
// sequence's per-head values as the pass reaches them.

// onBlock folds one block of a head's attention into the head's stream.
func (a *Accumulator) onBlock(st *stage, b hooks.Block) {
	if b.Head < 0 || b.Head >= a.info.Heads {
		a.fail(fmt.Errorf("metrics: layer %d: hook_pattern block of head %d, want one of %d heads", b.Layer, b.Head, a.info.Heads))
		return
	}
	st.heads[b.Layer*a.info.Heads+b.Head].attn.add(b, st.seq)
}

// finishAttention turns every head's attention stream of the pass over
// st.seq into its values.
func (a *Accumulator) finishAttention(st *stage) error {
	st.cnt = countQueries(st.cnt, st.seq)
	H := a.info.Heads
	for i := range st.heads {
		hs := &st.heads[i]
		n, err := hs.attn.finish(i/H, i%H, &hs.v, st.cnt)
		if err != nil {
			return err
		}
		hs.nFirst = n
	}
	return nil
}

// onV computes ‖W_O^(h) v_k‖ for every head and key (a query head reads the
// values of KV head h / (H/KV)) and the raw ‖v_k‖ per KV head.
func (a *Accumulator) onV(st *stage, l int, t hooks.Tensor) {
	T, H, KV, dh := st.T, a.info.Heads, a.info.KVHeads, a.info.HeadDim
	if !a.checkShape(hooks.At(l, hooks.AttnV), t, T, KV, dh) {
		return
	}
	a.gram.prepare(l, a.threads, T)
	kernels.Parallel(H, a.threads, func(w, h int) {
		norms := a.gram.norms(l, h, t.Data[h/(H/KV)*dh:], KV*dh, T, w)
		var sum float64
		for k := 0; k < T; k++ {
			sum += norms[k]
		}
		v := &st.heads[l*H+h].v
		v[statValFirst] = norms[0]
		v[statValMean] = sum / float64(T)
		v[statValRest] = stats.MedianInPlace(norms[1:])
	})
	norms := st.norms[:T]
	for kv := 0; kv < KV; kv++ {
		for k := 0; k < T; k++ {
			norms[k] = norm(t.Data[(k*KV+kv)*dh : (k*KV+kv+1)*dh])
		}
		st.kv[l*KV+kv] = kvAcc{first: norms[0], rest: stats.MedianInPlace(norms[1:]), n: 1}
	}
}

// onZ computes, over the counted queries i ≥ 1, the mean of ‖z_i‖ and of
// ‖W_O^(h) z_i‖, and the latter at the last of them.
func (a *Accumulator) onZ(st *stage, l int, t hooks.Tensor) {
	s := st.seq
	T, H, dh := st.T, a.info.Heads, a.info.HeadDim
	if !a.checkShape(hooks.At(l, hooks.Z), t, T, H, dh) {
		return
	}
	a.gram.prepare(l, a.threads, T)
	kernels.Parallel(H, a.threads, func(w, h int) {
		outs := a.gram.norms(l, h, t.Data[h*dh:], H*dh, T, w)
		var z, out, last float64
		n := 0
		for i := 1; i < T; i++ {
			if !s.query(i) {
				continue
			}
			zi := t.Data[(i*H+h)*dh : (i*H+h+1)*dh]
			last = outs[i]
			z += norm(zi)
			out += last
			n++
		}
		v := &st.heads[l*H+h].v
		v[statZ] = z / float64(n)
		v[statOut] = out / float64(n)
		v[statLastOut] = last
	})
}

func (a *Accumulator) onResid(st *stage, l int, t hooks.Tensor) {
	T, d := st.T, a.info.DModel
	if !a.checkShape(hooks.At(l, hooks.ResidPost), t, T, d) {
		return
	}
	ls := layerStage{seen: true}
	norms := st.norms[:T]
	for k := 0; k < T; k++ {
		x := t.Data[k*d : (k+1)*d]
		if !finite(x) {
			a.fail(fmt.Errorf("metrics: layer %d: residual stream at position %d holds NaN or Inf", l, k))
			return
		}
		norms[k] = norm(x)
		var mx float64
		var c int
		mx, c, st.abs = massive(x, st.abs)
		ls.massive += c
		if k == 0 {
			ls.massive0 = c
		}
		ls.maxAbs = math.Max(ls.maxAbs, mx)
	}
	ls.first = norms[0]
	ls.rest = stats.MedianInPlace(norms[1:])
	ls.ratio = ls.first / ls.rest
	st.layers[l] = ls
}
