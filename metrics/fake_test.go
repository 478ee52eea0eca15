package metrics

import (
	"math"
	"math/rand/v2"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/model"
)

// fakeModel is a tiny attention-only transformer written for these tests: an
// embedding, per layer q/k/v projections with grouped-query heads, causal
// softmax attention and an output projection, then an unembedding. It emits
// the hook points metrics reads, in the order a real model does, and keeps
// every weight so tests can recompute metrics by brute force.
type fakeModel struct {
	info     model.Info
	embed    [][]float32   // [vocab][d]
	wq       [][][]float32 // [L][H*dh][d]
	wk       [][][]float32 // [L][KV*dh][d]
	wv       [][][]float32 // [L][KV*dh][d]
	wo       [][][]float32 // [L][d][H*dh]
	unemb    [][]float32   // [vocab][d]
	sinkBias float32       // added to every score on key 0, to grow a sink
}

func newFakeModel(seed uint64, L, H, KV, dh, d, vocab int, sinkBias float32) *fakeModel {
	rng := rand.New(rand.NewPCG(seed, 7))
	mat := func(r, c int, scale float64) [][]float32 {
		m := make([][]float32, r)
		for i := range m {
			m[i] = make([]float32, c)
			for j := range m[i] {
				m[i][j] = float32(rng.NormFloat64() * scale)
			}
		}
		return m
	}
	f := &fakeModel{
		info:     model.Info{Arch: "Fake", Layers: L, Heads: H, KVHeads: KV, HeadDim: dh, DModel: d, Vocab: vocab, MaxSeqLen: 64},
		embed:    mat(vocab, d, 1),
		unemb:    mat(vocab, d, 1/math.Sqrt(float64(d))),
		sinkBias: sinkBias,
	}
	for l := 0; l < L; l++ {
		f.wq = append(f.wq, mat(H*dh, d, 1/math.Sqrt(float64(d))))
		f.wk = append(f.wk, mat(KV*dh, d, 1/math.Sqrt(float64(d))))
		f.wv = append(f.wv, mat(KV*dh, d, 1/math.Sqrt(float64(d))))
		f.wo = append(f.wo, mat(d, H*dh, 1/math.Sqrt(float64(H*dh))))
	}
	return f
}

func (f *fakeModel) Info() model.Info { return f.info }

func matvec(w [][]float32, x []float32) []float32 {
	out := make([]float32, len(w))
	for i, row := range w {
		var s float32
		for j, v := range row {
			s += v * x[j]
		}
		out[i] = s
	}
	return out
}

func (f *fakeModel) HeadOutput(l, h int, dst, z []float32) {
	dh := f.info.HeadDim
	for i := range dst {
		var s float32
		for j := 0; j < dh; j++ {
			s += f.wo[l][i][h*dh+j] * z[j]
		}
		dst[i] = s
	}
}

func (f *fakeModel) Forward(ids []int, hs *hooks.Set) ([]float32, error) {
	in := f.info
	T, H, KV, dh, d := len(ids), in.Heads, in.KVHeads, in.HeadDim, in.DModel
	x := make([]float32, T*d)
	for t, id := range ids {
		copy(x[t*d:], f.embed[id])
	}
	for l := 0; l < in.Layers; l++ {
		q := make([]float32, T*H*dh)
		k := make([]float32, T*KV*dh)
		v := make([]float32, T*KV*dh)
		for t := 0; t < T; t++ {
			copy(q[t*H*dh:], matvec(f.wq[l], x[t*d:(t+1)*d]))
			copy(k[t*KV*dh:], matvec(f.wk[l], x[t*d:(t+1)*d]))
			copy(v[t*KV*dh:], matvec(f.wv[l], x[t*d:(t+1)*d]))
		}
		hs.Run(hooks.At(l, hooks.AttnV), hooks.Tensor{Shape: []int{T, KV, dh}, Data: v})
		sc := make([]float32, H*T*T)
		scale := float32(1 / math.Sqrt(float64(dh)))
		for h := 0; h < H; h++ {
			kv := h / (H / KV)
			for i := 0; i < T; i++ {
				for j := 0; j < T; j++ {
					if j > i {
						sc[(h*T+i)*T+j] = float32(math.Inf(-1))
						continue
					}
					var s float32
					for c := 0; c < dh; c++ {
						s += q[(i*H+h)*dh+c] * k[(j*KV+kv)*dh+c]
					}
					s *= scale
					if j == 0 {
						s += f.sinkBias * float32(h%2)
					}
					sc[(h*T+i)*T+j] = s
				}
			}
		}
		hs.Run(hooks.At(l, hooks.AttnScores), hooks.Tensor{Shape: []int{H, T, T}, Data: sc})
		pat := append([]float32(nil), sc...)
		for r := 0; r < H*T; r++ {
			row := pat[r*T : (r+1)*T]
			mx := float32(math.Inf(-1))
			for _, s := range row {
				mx = max(mx, s)
			}
			var z float32
			for j, s := range row {
				row[j] = float32(math.Exp(float64(s - mx)))
				z += row[j]
			}
			for j := range row {
				row[j] /= z
			}
		}
		hs.Run(hooks.At(l, hooks.Pattern), hooks.Tensor{Shape: []int{H, T, T}, Data: pat})
		zz := make([]float32, T*H*dh)
		for h := 0; h < H; h++ {
			kv := h / (H / KV)
			for i := 0; i < T; i++ {
				for j := 0; j <= i; j++ {
					a := pat[(h*T+i)*T+j]
					for c := 0; c < dh; c++ {
						zz[(i*H+h)*dh+c] += a * v[(j*KV+kv)*dh+c]
					}
				}
			}
		}
		hs.Run(hooks.At(l, hooks.Z), hooks.Tensor{Shape: []int{T, H, dh}, Data: zz})
		for t := 0; t < T; t++ {
			o := matvec(f.wo[l], zz[t*H*dh:(t+1)*H*dh])
			for c := range o {
				x[t*d+c] += o[c]
			}
		}
		hs.Run(hooks.At(l, hooks.ResidPost), hooks.Tensor{Shape: []int{T, d}, Data: x})
	}
	logits := make([]float32, T*in.Vocab)
	for t := 0; t < T; t++ {
		copy(logits[t*in.Vocab:], matvec(f.unemb, x[t*d:(t+1)*d]))
	}
	return logits, nil
}

// withHeadZeroed returns a copy of f whose head (l, h) has its output
// projection columns zeroed: the brute-force ablation.
func (f *fakeModel) withHeadZeroed(l, h int) *fakeModel {
	g := *f
	g.wo = make([][][]float32, len(f.wo))
	for i := range f.wo {
		g.wo[i] = make([][]float32, len(f.wo[i]))
		for r := range f.wo[i] {
			g.wo[i][r] = append([]float32(nil), f.wo[i][r]...)
			if i == l {
				for c := 0; c < f.info.HeadDim; c++ {
					g.wo[i][r][h*f.info.HeadDim+c] = 0
				}
			}
		}
	}
	return &g
}

func randomIDs(rng *rand.Rand, n, T, vocab int) [][]int {
	out := make([][]int, n)
	for i := range out {
		out[i] = make([]int, T)
		for t := range out[i] {
			out[i][t] = rng.IntN(vocab)
		}
	}
	return out
}
