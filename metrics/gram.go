package metrics

import (
	"math"

	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/model"
)

// gram computes ‖W_O^(h) x‖ for many vectors x cheaply. For each head it
// builds, once, the d_head × d_head Gram matrix G = W_O^(h)ᵀ W_O^(h) from the
// W_O^(h) the model hands out (model.HeadWeighter), or else from its
// HeadOutput of the unit vectors (so it never reads weights), and then
// ‖W_O^(h) x‖² = xᵀ G x costs d_head² per vector instead of d_model × d_head
// (plus, for stored bf16/f16 weights, a conversion) per HeadOutput call.
// Memory: Layers × Heads × d_head² float32s (about 67 MB for a 7B Llama).
type gram struct {
	m    model.Model
	dh   int
	H    int
	col  [][]float32 // [dh][DModel] scratch
	e    []float32   // [dh] scratch
	w    []float32   // [DModel*dh] W_O^(h) of a model.HeadWeighter
	part []float32   // [dh*dh] a chunk's float32 Gram matrix
	g32  [][]float32 // [Layers*Heads][dh*dh] each head's Gram matrix, nil until first used
	u    [][]float32 // per worker [n*dh] scratch of norms
	out  [][]float64 // per worker [n] norms
}

// prepare builds the Gram matrices of layer l's heads that are not built
// yet, and scratch for workers computing norms of n vectors each: after it,
// norms of layer l may run concurrently, one call per worker.
func (gr *gram) prepare(l, workers, n int) {
	for h := 0; h < gr.H; h++ {
		if i := l*gr.H + h; gr.g32[i] == nil {
			g := gr.matrix(l, h)
			g32 := make([]float32, len(g))
			for k, v := range g {
				g32[k] = float32(v)
			}
			gr.g32[i] = g32
		}
	}
	for len(gr.u) < workers {
		gr.u, gr.out = append(gr.u, nil), append(gr.out, nil)
	}
	for w := 0; w < workers; w++ {
		if cap(gr.u[w]) < n*gr.dh {
			gr.u[w] = make([]float32, n*gr.dh)
		}
		if cap(gr.out[w]) < n {
			gr.out[w] = make([]float64, n)
		}
	}
}

func newGram(m model.Model) *gram {
	info := m.Info()
	gr := &gram{m: m, dh: info.HeadDim, H: info.Heads, g32: make([][]float32, info.Layers*info.Heads), e: make([]float32, info.HeadDim)}
	for j := 0; j < info.HeadDim; j++ {
		gr.col = append(gr.col, make([]float32, info.DModel))
	}
	return gr
}

// gramChunk is how many rows of W_O^(h) one float32 product sums before
// the partial Gram matrix is added in float64: short enough that the float32
// rounding stays near 1e-8 relative.
const gramChunk = 32

// matrix returns head (l, h)'s Gram matrix in float64: from
// the whole W_O^(h) when the model hands it out (a matrix product per chunk
// of its rows), else column by column through HeadOutput.
func (gr *gram) matrix(l, h int) []float64 {
	dh := gr.dh
	g := make([]float64, dh*dh)
	if hw, ok := gr.m.(model.HeadWeighter); ok {
		d := len(gr.col[0])
		if len(gr.w) == 0 {
			gr.w = make([]float32, d*dh)
			gr.part = make([]float32, dh*dh)
		}
		hw.HeadWeight(l, h, gr.w)
		for r0 := 0; r0 < d; r0 += gramChunk {
			n := min(gramChunk, d-r0)
			kernels.Gemm(true, false, dh, dh, n, 1, gr.w[r0*dh:], dh, gr.w[r0*dh:], dh, 0, gr.part, dh, 1)
			for k, v := range gr.part {
				g[k] += float64(v)
			}
		}
		return g
	}
	for j := 0; j < dh; j++ {
		clear(gr.e)
		gr.e[j] = 1
		gr.m.HeadOutput(l, h, gr.col[j], gr.e)
	}
	for a := 0; a < dh; a++ {
		for b := a; b < dh; b++ {
			var s float64
			for k, x := range gr.col[a] {
				s += float64(x) * float64(gr.col[b][k])
			}
			g[a*dh+b], g[b*dh+a] = s, s
		}
	}
	return g
}

// norms writes ‖W_O^(h) x_i‖₂ for the n vectors x_i = x[i·ld : i·ld+dh]
// (head h of layer l, prepared) into worker w's norms, which it returns:
// U = X·G in one float32 matrix product, then xᵢᵀuᵢ summed in float64. The
// float32 rounding of U is about 1e-7 of the norm, far below what the scores
// are compared at.
func (gr *gram) norms(l, h int, x []float32, ld, n, w int) []float64 {
	out := gr.out[w][:n]
	if n <= 0 {
		return out
	}
	dh := gr.dh
	u := gr.u[w][:n*dh]
	kernels.Gemm(false, false, n, dh, dh, 1, x, ld, gr.g32[l*gr.H+h], dh, 0, u, dh, 1)
	for r := 0; r < n; r++ {
		xr, ur := x[r*ld:r*ld+dh], u[r*dh:(r+1)*dh]
		var s float64
		for b, v := range xr {
			s += float64(ur[b]) * float64(v)
		}
		out[r] = math.Sqrt(math.Max(s, 0))
	}
	return out
}
