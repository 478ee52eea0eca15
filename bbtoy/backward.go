package bbtoy

import "math"

// scratch holds one sequence's backward-pass buffers.
type scratch[F float] struct {
	dres       []F // [T, D] gradient of the loss with respect to the residual stream
	dln        []F // [T, D] gradient at a LayerNorm output
	dz         []F // [T, D]
	dq, dk, dv []F // [T, D]
	dA, dS     []F // [T, T] one head's pattern and score gradients
	dr         []F // [T, FF]
}

func newScratch[F float](c Config, T int) *scratch[F] {
	d := c.D
	return &scratch[F]{dres: make([]F, T*d), dln: make([]F, T*d), dz: make([]F, T*d), dq: make([]F, T*d),
		dk: make([]F, T*d), dv: make([]F, T*d), dA: make([]F, T*T), dS: make([]F, T*T), dr: make([]F, T*c.FF)}
}

// crossEntropy turns a.logits into probabilities in place and returns the
// summed next-token cross-entropy of targets (len a.T), in nats.
func crossEntropy[F float](a *acts[F], targets []int, vocab int) float64 {
	var loss float64
	for t, y := range targets {
		row := a.logits[t*vocab : (t+1)*vocab]
		m := row[0]
		for _, v := range row[1:] {
			m = max(m, v)
		}
		var sum F
		for j, v := range row {
			e := exp(v - m)
			row[j] = e
			sum += e
		}
		inv := 1 / sum
		for j := range row {
			row[j] *= inv
		}
		loss -= math.Log(float64(row[y]))
	}
	return loss
}

// backward accumulates into g the gradient of scale × (summed cross-entropy)
// for one sequence whose forward pass filled a and whose logits crossEntropy
// turned into probabilities.
func (n *net[F]) backward(tokens, targets []int, a *acts[F], g *weights[F], scale F, s *scratch[F]) {
	c, w, T, d, V := n.cfg, n.w, a.T, n.cfg.D, n.cfg.Vocab
	dlog := a.logits // reuse: (p − onehot)·scale
	for t, y := range targets {
		row := dlog[t*V : (t+1)*V]
		for j := range row {
			row[j] *= scale
		}
		row[y] -= scale
	}
	gemm(true, false, V, d, T, 1, dlog, V, a.lnf, d, 1, g.out, d)
	gemm(false, false, T, d, V, 1, dlog, V, w.out, d, 0, s.dln, d)
	clear(s.dres)
	layerNormBack(s.dres, s.dln, a.lnfHat, a.lnfR, w.normW, g.normW, g.normB, d)
	for l := len(a.layers) - 1; l >= 0; l-- {
		la, lw, lg := &a.layers[l], &w.layers[l], &g.layers[l]
		if c.HasMLP(l) {
			// dres is the gradient at resid_post and at mlp_out.
			gemm(false, false, T, c.FF, d, 1, s.dres, d, lw.w2, c.FF, 0, s.dr, c.FF)
			gemm(true, false, d, c.FF, T, 1, s.dres, d, la.r, c.FF, 1, lg.w2, c.FF)
			for i, v := range la.r {
				if v <= 0 {
					s.dr[i] = 0
				}
			}
			gemm(true, false, c.FF, d, T, 1, s.dr, c.FF, la.ln2, d, 1, lg.w1, d)
			gemm(false, false, T, d, c.FF, 1, s.dr, c.FF, lw.w1, d, 0, s.dln, d)
			layerNormBack(s.dres, s.dln, la.ln2Hat, la.ln2R, lw.ln2W, lg.ln2W, lg.ln2B, d)
		}
		if c.HasAttn(l) {
			n.attentionBack(la, lw, lg, T, s)
			layerNormBack(s.dres, s.dln, la.ln1Hat, la.ln1R, lw.ln1W, lg.ln1W, lg.ln1B, d)
		}
	}
	for t, id := range tokens {
		dr := s.dres[t*d : (t+1)*d]
		gt, gp := g.tok[id*d:(id+1)*d], g.pos[t*d:(t+1)*d]
		for i, v := range dr {
			gt[i] += v
			gp[i] += v
		}
	}
}

// attentionBack takes s.dres as the gradient at attn_out, accumulates the
// attention weights' gradients and leaves the gradient at the ln1 output in s.dln.
func (n *net[F]) attentionBack(la *layerActs[F], lw, lg *layerWeights[F], T int, s *scratch[F]) {
	c, d := n.cfg, n.cfg.D
	H, dh := c.Heads, c.HeadDim()
	scale := F(1 / math.Sqrt(float64(dh)))
	gemm(true, false, d, d, T, 1, s.dres, d, la.z, d, 1, lg.wo, d)
	gemm(false, false, T, d, d, 1, s.dres, d, lw.wo, d, 0, s.dz, d)
	for h := 0; h < H; h++ {
		a := la.a[h*T*T : (h+1)*T*T]
		sc := la.s[h*T*T : (h+1)*T*T]
		for i0 := 0; i0 < T; i0 += blockRows {
			i1 := min(i0+blockRows, T)
			// dA[i, j] = dz_i · v_j for j < i1
			gemm(false, true, i1-i0, i1, dh, 1, s.dz[i0*d+h*dh:], d, la.v[h*dh:], d, 0, s.dA[i0*T:], T)
			// dv_j = Σ_{i ≥ j} A[i, j] dz_i for the key block j ∈ [i0, i1)
			gemm(true, false, i1-i0, dh, T-i0, 1, a[i0*T+i0:], T, s.dz[i0*d+h*dh:], d, 0, s.dv[i0*d+h*dh:], d)
		}
		for i := 0; i < T; i++ {
			ai, dai, dsi := a[i*T:i*T+i+1], s.dA[i*T:i*T+i+1], s.dS[i*T:(i+1)*T]
			if c.Attention == ReLU {
				inv := 1 / F(i+1)
				for j, v := range sc[i*T : i*T+i+1] {
					if v > 0 {
						dsi[j] = dai[j] * inv
					} else {
						dsi[j] = 0
					}
				}
			} else {
				var dot F
				for j, p := range ai {
					dot += p * dai[j]
				}
				for j, p := range ai {
					dsi[j] = p * (dai[j] - dot)
				}
			}
			clear(dsi[i+1:])
		}
		for i0 := 0; i0 < T; i0 += blockRows {
			i1 := min(i0+blockRows, T)
			gemm(false, false, i1-i0, dh, i1, scale, s.dS[i0*T:], T, la.k[h*dh:], d, 0, s.dq[i0*d+h*dh:], d)
			gemm(true, false, i1-i0, dh, T-i0, scale, s.dS[i0*T+i0:], T, la.q[i0*d+h*dh:], d, 0, s.dk[i0*d+h*dh:], d)
		}
	}
	gemm(true, false, d, d, T, 1, s.dq, d, la.ln1, d, 1, lg.wq, d)
	gemm(true, false, d, d, T, 1, s.dk, d, la.ln1, d, 1, lg.wk, d)
	gemm(true, false, d, d, T, 1, s.dv, d, la.ln1, d, 1, lg.wv, d)
	gemm(false, false, T, d, d, 1, s.dq, d, lw.wq, d, 0, s.dln, d)
	gemm(false, false, T, d, d, 1, s.dk, d, lw.wk, d, 1, s.dln, d)
	gemm(false, false, T, d, d, 1, s.dv, d, lw.wv, d, 1, s.dln, d)
}
