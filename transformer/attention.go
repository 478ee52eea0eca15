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
	T, N, H, KV, dh := p.T, p.N, in.Heads, in.KVHeads, in.HeadDim
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
		for row := 0; row < N; row++ {
			pos := p.p0 + row%T
			c, s := cos[pos*half:(pos+1)*half], sin[pos*half:(pos+1)*half]
			for h := 0; h < H; h++ {
				kernels.ApplyRope(p.q[(row*H+h)*dh:(row*H+h+1)*dh], c, s)
			}
			for h := 0; h < KV; h++ {
				kernels.ApplyRope(p.k[(row*KV+h)*dh:(row*KV+h+1)*dh], c, s)
			}
		}
	}

	keys, values := p.k, p.v
	if p.st != nil {
		p.st.k[l] = append(p.st.k[l], p.k...)
		p.st.v[l] = append(p.st.v[l], p.v...)
		keys, values = p.st.k[l], p.st.v[l]
	}
	for b, hs := range p.hs {
		sq := seqAttn{
			l: l, at: at, hs: hs,
			q:    p.q[b*T*H*dh : (b+1)*T*H*dh],
			keys: keys[b*T*KV*dh:], values: values[b*T*KV*dh:],
			z: p.z[b*T*H*dh : (b+1)*T*H*dh],
		}
		if hs.HasFull(hooks.At(l, hooks.AttnScores)) || hs.HasFull(hooks.At(l, hooks.Pattern)) {
			p.attendFull(&sq)
		} else {
			p.attendBlocked(&sq)
		}
	}
	p.hook(hooks.At(l, hooks.Z), p.z, T, H, dh)
	kernels.MatMulT(p.out, p.z, N, at.O, p.threads)
	addBias(p.out, at.OBias)
}

// seqAttn is the attention of one sequence of a pass in layer l: its
// queries, the keys and values it sees (the state's before its own, when
// extending), its z and its hooks.
type seqAttn struct {
	l            int
	at           *Attention
	hs           *hooks.Set
	q            []float32 // [T, heads, head_dim]
	keys, values []float32 // [p0+T, kv_heads, head_dim]
	z            []float32 // [T, heads, head_dim]
}

// project writes q, k and v (with their biases) from p.xn, through the
// separate projections or the fused one.
func (p *pass) project(at *Attention) {
	in := p.m.Dims
	N, H, KV, dh := p.N, in.Heads, in.KVHeads, in.HeadDim
	if at.QKV.Rows == 0 {
		kernels.MatMulT(p.q, p.xn, N, at.Q, p.threads)
		kernels.MatMulT(p.k, p.xn, N, at.K, p.threads)
		kernels.MatMulT(p.v, p.xn, N, at.V, p.threads)
		addBias(p.q, at.QBias)
		addBias(p.k, at.KBias)
		addBias(p.v, at.VBias)
		return
	}
	w := (H + 2*KV) * dh
	qkv := p.qkv[:N*w]
	kernels.MatMulT(qkv, p.xn, N, at.QKV, p.threads)
	addBias(qkv, at.QKVBias)
	for i := 0; i < N; i++ {
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
// keeping any head's full pattern. Each head's keys (scaled) and values are
// packed once for all its blocks. The sequence's BlockFuncs see each block
// after the softmax (and may change its pattern) before the weighted sum.
func (p *pass) attendBlocked(sq *seqAttn) {
	in := p.m.Dims
	T, H, KV, dh := p.T, in.Heads, in.KVHeads, in.HeadDim
	blocks := sq.hs.HasBlocks(sq.l)
	nkv := p.p0 + T
	parallel(H, len(p.scratch), func(w, h int) {
		s, kv := p.scratch[w], h/(H/KV)
		keys := kernels.PackB(p.kpack[w], true, sq.at.scale(dh), sq.keys[kv*dh:], KV*dh, nkv, dh)
		values := kernels.PackB(p.vpack[w], false, 1, sq.values[kv*dh:], KV*dh, dh, nkv)
		for i0 := 0; i0 < T; i0 += queryBlock {
			i1 := min(i0+queryBlock, T)
			nk := p.p0 + i1 // rows i0..i1 see keys 0..nk
			n := (i1 - i0) * nk
			// With block hooks the scores stay in kept, and the softmax
			// writes the pattern into s.
			sc := s
			if blocks {
				sc = p.kept[w]
			}
			kernels.GemmPacked(false, i1-i0, nk, dh, sq.q[(i0*H+h)*dh:], H*dh, keys, 0, sc, nk, 1)
			p.mask(sc, sq.at, i0, i1, nk)
			for r := 0; r < i1-i0; r++ {
				kernels.SoftmaxTo(s[r*nk:(r+1)*nk], sc[r*nk:(r+1)*nk])
			}
			if blocks {
				sq.hs.RunBlock(hooks.Block{Layer: sq.l, Head: h, Q0: p.p0 + i0, Rows: i1 - i0, Keys: nk, Scores: sc[:n], Pattern: s[:n], Softmax: true})
			}
			kernels.GemmPacked(false, i1-i0, dh, nk, s, nk, values, 0, sq.z[(i0*H+h)*dh:], H*dh, 1)
		}
	})
}

// attendFull (Forward only: p0 = 0) builds the [heads, T, T] scores, runs their hooks, turns them
// into the pattern, runs its hooks, and computes z from the (possibly changed)
// pattern.
func (p *pass) attendFull(sq *seqAttn) {
	in := p.m.Dims
	T, H, KV, dh := p.T, in.Heads, in.KVHeads, in.HeadDim
	if len(p.full) == 0 {
		p.full = sized(p.full, H*T*T)
	}
	head := func(h int) []float32 { return p.full[h*T*T : (h+1)*T*T] }
	workers := len(p.scratch)
	parallel(H, workers, func(_, h int) { p.scores(head(h), sq, h, 0, T, T) })
	sq.hs.Run(hooks.At(sq.l, hooks.AttnScores), hooks.Tensor{Shape: []int{H, T, T}, Data: p.full})
	parallel(H, workers, func(_, h int) {
		s := head(h)
		for i := 0; i < T; i++ {
			kernels.Softmax(s[i*T : (i+1)*T])
		}
	})
	sq.hs.Run(hooks.At(sq.l, hooks.Pattern), hooks.Tensor{Shape: []int{H, T, T}, Data: p.full})
	parallel(H, workers, func(_, h int) {
		kv := h / (H / KV)
		kernels.Gemm(false, false, T, dh, T, 1, head(h), T, sq.values[kv*dh:], KV*dh, 0, sq.z[h*dh:], H*dh, 1)
	})
}

// scores writes the scaled (and soft-capped), causally masked scores of head
// h for query rows i0..i1 (positions p0+i0..p0+i1) against keys 0..nk into s,
// one row of nk per query. Masked keys are −∞.
func (p *pass) scores(s []float32, sq *seqAttn, h, i0, i1, nk int) {
	in := p.m.Dims
	H, KV, dh := in.Heads, in.KVHeads, in.HeadDim
	kv := h / (H / KV)
	kernels.Gemm(false, true, i1-i0, nk, dh, sq.at.scale(dh), sq.q[(i0*H+h)*dh:], H*dh, sq.keys[kv*dh:], KV*dh, 0, s, nk, 1)
	p.mask(s, sq.at, i0, i1, nk)
}

// mask soft-caps the scaled scores s of query rows i0..i1 against keys
// 0..nk (one row of nk per query) and sets the keys each query does not
// see, later ones and those outside a sliding window, to −∞.
func (p *pass) mask(s []float32, at *Attention, i0, i1, nk int) {
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
