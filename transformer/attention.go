package transformer

import (
	"math"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/kernels"
)

// attention computes z from p.xn and writes the output projection of z
// (plus its bias) to p.out.
func (p *pass) attention(l int, at *Attention) {
	in := p.m.Dims
	T, H, KV, dh := p.T, in.Heads, in.KVHeads, in.HeadDim
	p.project(at)
	if at.Clip > 0 {
		clamp(p.q, at.Clip)
		clamp(p.k, at.Clip)
		clamp(p.v, at.Clip)
	}
	qw, kw := H*dh, KV*dh
	if at.PerHeadQKNorm {
		qw, kw = dh, dh
	}
	at.QNorm.Rows(p.q, p.q, qw)
	at.KNorm.Rows(p.k, p.k, kw)
	p.hook(hooks.At(l, hooks.AttnQ), p.q, T, H, dh)
	p.hook(hooks.At(l, hooks.AttnK), p.k, T, KV, dh)
	p.hook(hooks.At(l, hooks.AttnV), p.v, T, KV, dh)

	if r := at.Rope; r != nil {
		cos, sin := p.m.rope(r, p.p0+T)
		half := r.Dims / 2
		for i := 0; i < T; i++ {
			pos := p.p0 + i
			c, s := cos[pos*half:(pos+1)*half], sin[pos*half:(pos+1)*half]
			for h := 0; h < H; h++ {
				kernels.ApplyRope(p.q[(i*H+h)*dh:(i*H+h+1)*dh], c, s)
			}
			for h := 0; h < KV; h++ {
				kernels.ApplyRope(p.k[(i*KV+h)*dh:(i*KV+h+1)*dh], c, s)
			}
		}
	}

	p.keys, p.values = p.k, p.v
	if p.st != nil {
		p.st.k[l] = append(p.st.k[l], p.k...)
		p.st.v[l] = append(p.st.v[l], p.v...)
		p.keys, p.values = p.st.k[l], p.st.v[l]
	}
	if p.hs.Has(hooks.At(l, hooks.AttnScores)) || p.hs.Has(hooks.At(l, hooks.Pattern)) {
		p.attendFull(l, at)
	} else {
		p.attendBlocked(at)
	}
	p.hook(hooks.At(l, hooks.Z), p.z, T, H, dh)
	kernels.MatMulT(p.out, p.z, T, at.O, p.threads)
	addBias(p.out, at.OBias)
}

// project writes q, k and v (with their biases) from p.xn, through the
// separate projections or the fused one.
func (p *pass) project(at *Attention) {
	in := p.m.Dims
	T, H, KV, dh := p.T, in.Heads, in.KVHeads, in.HeadDim
	if at.QKV.Rows == 0 {
		kernels.MatMulT(p.q, p.xn, T, at.Q, p.threads)
		kernels.MatMulT(p.k, p.xn, T, at.K, p.threads)
		kernels.MatMulT(p.v, p.xn, T, at.V, p.threads)
		addBias(p.q, at.QBias)
		addBias(p.k, at.KBias)
		addBias(p.v, at.VBias)
		return
	}
	w := (H + 2*KV) * dh
	qkv := p.qkv[:T*w]
	kernels.MatMulT(qkv, p.xn, T, at.QKV, p.threads)
	addBias(qkv, at.QKVBias)
	for i := 0; i < T; i++ {
		row := qkv[i*w : (i+1)*w]
		q, k, v := p.q[i*H*dh:(i+1)*H*dh], p.k[i*KV*dh:(i+1)*KV*dh], p.v[i*KV*dh:(i+1)*KV*dh]
		switch at.Layout {
		case QKVBlocks:
			copy(q, row[:H*dh])
			copy(k, row[H*dh:(H+KV)*dh])
			copy(v, row[(H+KV)*dh:])
		case QKVPerHead: // KV = H
			for h := 0; h < H; h++ {
				src := row[3*h*dh:]
				copy(q[h*dh:(h+1)*dh], src[:dh])
				copy(k[h*dh:(h+1)*dh], src[dh:2*dh])
				copy(v[h*dh:(h+1)*dh], src[2*dh:3*dh])
			}
		}
	}
}

// scale is the factor of q·k.
func (at *Attention) scale(headDim int) float32 {
	if at.Scale != 0 {
		return at.Scale
	}
	return float32(1 / math.Sqrt(float64(headDim)))
}

// attendBlocked computes z head by head, query block by query block, without
// keeping any head's full pattern.
func (p *pass) attendBlocked(at *Attention) {
	in := p.m.Dims
	T, H, KV, dh := p.T, in.Heads, in.KVHeads, in.HeadDim
	parallel(H, len(p.scratch), func(w, h int) {
		s, kv := p.scratch[w], h/(H/KV)
		for i0 := 0; i0 < T; i0 += queryBlock {
			i1 := min(i0+queryBlock, T)
			nk := p.p0 + i1 // rows i0..i1 see keys 0..nk
			p.scores(s, h, i0, i1, nk, at)
			for r := 0; r < i1-i0; r++ {
				kernels.Softmax(s[r*nk : (r+1)*nk])
			}
			kernels.Gemm(false, false, i1-i0, dh, nk, 1, s, nk, p.values[kv*dh:], KV*dh, 0, p.z[(i0*H+h)*dh:], H*dh, 1)
		}
	})
}

// attendFull (Forward only: p0 = 0) builds the [heads, T, T] scores, runs their hooks, turns them
// into the pattern, runs its hooks, and computes z from the (possibly changed)
// pattern.
func (p *pass) attendFull(l int, at *Attention) {
	in := p.m.Dims
	T, H, KV, dh := p.T, in.Heads, in.KVHeads, in.HeadDim
	if len(p.full) == 0 {
		p.full = sized(p.full, H*T*T)
	}
	head := func(h int) []float32 { return p.full[h*T*T : (h+1)*T*T] }
	workers := len(p.scratch)
	parallel(H, workers, func(_, h int) { p.scores(head(h), h, 0, T, T, at) })
	p.hook(hooks.At(l, hooks.AttnScores), p.full, H, T, T)
	parallel(H, workers, func(_, h int) {
		s := head(h)
		for i := 0; i < T; i++ {
			kernels.Softmax(s[i*T : (i+1)*T])
		}
	})
	p.hook(hooks.At(l, hooks.Pattern), p.full, H, T, T)
	parallel(H, workers, func(_, h int) {
		kv := h / (H / KV)
		kernels.Gemm(false, false, T, dh, T, 1, head(h), T, p.values[kv*dh:], KV*dh, 0, p.z[h*dh:], H*dh, 1)
	})
}

// scores writes the scaled (and soft-capped), causally masked scores of head
// h for query rows i0..i1 (positions p0+i0..p0+i1) against keys 0..nk into s,
// one row of nk per query. Masked keys are −∞.
func (p *pass) scores(s []float32, h, i0, i1, nk int, at *Attention) {
	in := p.m.Dims
	H, KV, dh := in.Heads, in.KVHeads, in.HeadDim
	kv := h / (H / KV)
	kernels.Gemm(false, true, i1-i0, nk, dh, at.scale(dh), p.q[(i0*H+h)*dh:], H*dh, p.keys[kv*dh:], KV*dh, 0, s, nk, 1)
	negInf := float32(math.Inf(-1))
	for i := i0; i < i1; i++ {
		row, pos := s[(i-i0)*nk:(i-i0+1)*nk], p.p0+i
		if c := at.Softcap; c > 0 {
			kernels.Softcap(row[:min(pos+1, nk)], c)
		}
		for j := pos + 1; j < nk; j++ {
			row[j] = negInf
		}
		if at.Window > 0 {
			for j := 0; j <= pos-at.Window; j++ {
				row[j] = negInf
			}
		}
	}
}
