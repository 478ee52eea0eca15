package bbtoy

import (
	"math"

	"github.com/sinkscope/sinkscope/hooks"
)

// blockRows is the query-block height of the causal attention products: a
// block of queries [i0, i1) only multiplies keys [0, i1).
const blockRows = 64

// acts holds every activation of one sequence's forward pass, kept for the
// backward pass and for the dynamics measurements.
type acts[F float] struct {
	T      int
	x0     []F // [T, D] token + position embedding (resid_pre of layer 0)
	layers []layerActs[F]
	lnf    []F // [T, D] final LayerNorm output
	lnfHat []F // [T, D] its normalised input x̂
	lnfR   []F // [T] its 1/σ
	logits []F // [T, Vocab] logits; probabilities after lossBackward
}

type layerActs[F float] struct {
	in      []F // [T, D] resid_pre (the previous layer's out, or x0)
	ln1     []F // [T, D]
	ln1Hat  []F // [T, D]
	ln1R    []F // [T]
	q, k, v []F // [T, D] = [T, H, dh]
	s       []F // [H, T, T] scaled scores q·k/√dh (row i valid for keys ≤ i)
	a       []F // [H, T, T] attention pattern (zero above the diagonal)
	z       []F // [T, D] = [T, H, dh] per-head outputs before wo
	attnOut []F // [T, D]
	mid     []F // [T, D] resid_mid
	ln2     []F // [T, D]
	ln2Hat  []F // [T, D]
	ln2R    []F // [T]
	r       []F // [T, FF] ReLU(w1·ln2)
	mlpOut  []F // [T, D]
	out     []F // [T, D] resid_post
}

func newActs[F float](c Config, T int) *acts[F] {
	d := c.D
	a := &acts[F]{T: T, x0: make([]F, T*d), lnf: make([]F, T*d), lnfHat: make([]F, T*d), lnfR: make([]F, T),
		logits: make([]F, T*c.Vocab), layers: make([]layerActs[F], c.Layers)}
	in := a.x0
	for l := range a.layers {
		la := &a.layers[l]
		la.in = in
		if c.HasAttn(l) {
			la.ln1, la.ln1Hat, la.ln1R = make([]F, T*d), make([]F, T*d), make([]F, T)
			la.q, la.k, la.v, la.z, la.attnOut = make([]F, T*d), make([]F, T*d), make([]F, T*d), make([]F, T*d), make([]F, T*d)
			la.s, la.a = make([]F, c.Heads*T*T), make([]F, c.Heads*T*T)
		}
		la.mid = make([]F, T*d)
		if c.HasMLP(l) {
			la.ln2, la.ln2Hat, la.ln2R = make([]F, T*d), make([]F, T*d), make([]F, T)
			la.r, la.mlpOut = make([]F, T*c.FF), make([]F, T*d)
		}
		la.out = make([]F, T*d)
		in = la.out
	}
	return a
}

// net is a BB transformer's parameters viewed by name.
type net[F float] struct {
	cfg Config
	w   *weights[F]
}

// run calls the hooks at p on data, which must be float32 (hooks are only
// passed to float32 forwards).
func run[F float](hs *hooks.Set, p hooks.Point, data []F, shape ...int) {
	if hs.Has(p) {
		hs.Run(p, hooks.Tensor{Shape: shape, Data: any(data).([]float32)})
	}
}

// forward runs tokens (len a.T) through the network, filling a and calling
// the hooks in hs (nil for none; only for F = float32).
func (n *net[F]) forward(tokens []int, a *acts[F], hs *hooks.Set) {
	c, w, T, d := n.cfg, n.w, a.T, n.cfg.D
	for t, id := range tokens {
		copy(a.x0[t*d:(t+1)*d], w.tok[id*d:(id+1)*d])
	}
	run(hs, hooks.Global(hooks.Embed), a.x0, T, d)
	for t := range tokens {
		row, p := a.x0[t*d:(t+1)*d], w.pos[t*d:(t+1)*d]
		for i := range row {
			row[i] += p[i]
		}
	}
	eps := F(c.Eps)
	for l := range a.layers {
		la, lw := &a.layers[l], &w.layers[l]
		run(hs, hooks.At(l, hooks.ResidPre), la.in, T, d)
		copy(la.mid, la.in)
		if c.HasAttn(l) {
			n.attention(l, la, lw, T, hs)
			for i, v := range la.attnOut {
				la.mid[i] += v
			}
		}
		run(hs, hooks.At(l, hooks.ResidMid), la.mid, T, d)
		copy(la.out, la.mid)
		if c.HasMLP(l) {
			layerNorm(la.ln2, la.ln2Hat, la.ln2R, la.mid, lw.ln2W, lw.ln2B, d, eps)
			gemm(false, true, T, c.FF, d, 1, la.ln2, d, lw.w1, d, 0, la.r, c.FF)
			for i, v := range la.r {
				if v < 0 {
					la.r[i] = 0
				}
			}
			gemm(false, true, T, d, c.FF, 1, la.r, c.FF, lw.w2, c.FF, 0, la.mlpOut, d)
			run(hs, hooks.At(l, hooks.MLPOut), la.mlpOut, T, d)
			for i, v := range la.mlpOut {
				la.out[i] += v
			}
		}
		run(hs, hooks.At(l, hooks.ResidPost), la.out, T, d)
	}
	last := a.x0
	if len(a.layers) > 0 {
		last = a.layers[len(a.layers)-1].out
	}
	layerNorm(a.lnf, a.lnfHat, a.lnfR, last, w.normW, w.normB, d, eps)
	run(hs, hooks.Global(hooks.LnFinal), a.lnf, T, d)
	gemm(false, true, T, c.Vocab, d, 1, a.lnf, d, w.out, d, 0, a.logits, c.Vocab)
	run(hs, hooks.Global(hooks.Logits), a.logits, T, c.Vocab)
}

// attention computes layer l's attention output into la.attnOut.
func (n *net[F]) attention(l int, la *layerActs[F], lw *layerWeights[F], T int, hs *hooks.Set) {
	c, d := n.cfg, n.cfg.D
	H, dh := c.Heads, c.HeadDim()
	layerNorm(la.ln1, la.ln1Hat, la.ln1R, la.in, lw.ln1W, lw.ln1B, d, F(c.Eps))
	gemm(false, true, T, d, d, 1, la.ln1, d, lw.wq, d, 0, la.q, d)
	gemm(false, true, T, d, d, 1, la.ln1, d, lw.wk, d, 0, la.k, d)
	gemm(false, true, T, d, d, 1, la.ln1, d, lw.wv, d, 0, la.v, d)
	run(hs, hooks.At(l, hooks.AttnQ), la.q, T, H, dh)
	run(hs, hooks.At(l, hooks.AttnK), la.k, T, H, dh)
	run(hs, hooks.At(l, hooks.AttnV), la.v, T, H, dh)
	scale := F(1 / math.Sqrt(float64(dh)))
	for h := 0; h < H; h++ {
		s := la.s[h*T*T : (h+1)*T*T]
		for i0 := 0; i0 < T; i0 += blockRows {
			i1 := min(i0+blockRows, T)
			gemm(false, true, i1-i0, i1, dh, scale, la.q[i0*d+h*dh:], d, la.k[h*dh:], d, 0, s[i0*T:], T)
		}
	}
	if hs.Has(hooks.At(l, hooks.AttnScores)) {
		inf := F(math.Inf(-1))
		for h := 0; h < H; h++ {
			for i := 0; i < T; i++ {
				row := la.s[h*T*T+i*T : h*T*T+(i+1)*T]
				for j := i + 1; j < T; j++ {
					row[j] = inf
				}
			}
		}
		run(hs, hooks.At(l, hooks.AttnScores), la.s, H, T, T)
	}
	for h := 0; h < H; h++ {
		for i := 0; i < T; i++ {
			s := la.s[h*T*T+i*T : h*T*T+i*T+i+1]
			a := la.a[h*T*T+i*T : h*T*T+(i+1)*T]
			if c.Attention == ReLU {
				inv := 1 / F(i+1)
				for j, v := range s {
					a[j] = max(v, 0) * inv
				}
			} else {
				m := s[0]
				for _, v := range s[1:] {
					m = max(m, v)
				}
				var sum F
				for j, v := range s {
					e := exp(v - m)
					a[j] = e
					sum += e
				}
				inv := 1 / sum
				for j := range s {
					a[j] *= inv
				}
			}
			clear(a[i+1:])
		}
	}
	run(hs, hooks.At(l, hooks.Pattern), la.a, H, T, T)
	for h := 0; h < H; h++ {
		a := la.a[h*T*T : (h+1)*T*T]
		for i0 := 0; i0 < T; i0 += blockRows {
			i1 := min(i0+blockRows, T)
			gemm(false, false, i1-i0, dh, i1, 1, a[i0*T:], T, la.v[h*dh:], d, 0, la.z[i0*d+h*dh:], d)
		}
	}
	run(hs, hooks.At(l, hooks.Z), la.z, T, H, dh)
	gemm(false, true, T, d, d, 1, la.z, d, lw.wo, d, 0, la.attnOut, d)
	run(hs, hooks.At(l, hooks.AttnOut), la.attnOut, T, d)
}
