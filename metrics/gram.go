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
// Memory: Layers × Heads × d_head² float64s (about 134 MB for a 7B Llama).
type gram struct {
	m    model.Model
	dh   int
	H    int
	g    [][]float64 // [Layers*Heads][dh*dh], nil until first used
	col  [][]float32 // [dh][DModel] scratch
	e    []float32   // [dh] scratch
	w    []float32   // [DModel*dh] W_O^(h) of a model.HeadWeighter
	part []float32   // [dh*dh] a chunk's float32 Gram matrix
}

func newGram(m model.Model) *gram {
	info := m.Info()
	gr := &gram{m: m, dh: info.HeadDim, H: info.Heads, g: make([][]float64, info.Layers*info.Heads), e: make([]float32, info.HeadDim)}
	for j := 0; j < info.HeadDim; j++ {
		gr.col = append(gr.col, make([]float32, info.DModel))
	}
	return gr
}

// gramChunk is how many rows of W_O^(h) one float32 product sums before
// the partial Gram matrix is added in float64: short enough that the float32
// rounding stays near 1e-8 relative.
const gramChunk = 32

// matrix returns head (l, h)'s Gram matrix, building it on first use: from
// the whole W_O^(h) when the model hands it out (a matrix product per chunk
// of its rows), else column by column through HeadOutput.
func (gr *gram) matrix(l, h int) []float64 {
	i := l*gr.H + h
	if gr.g[i] != nil {
		return gr.g[i]
	}
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
		gr.g[i] = g
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
	gr.g[i] = g
	return g
}

// norm returns ‖W_O^(h) x‖₂ for head h of layer l.
func (gr *gram) norm(l, h int, x []float32) float64 {
	g := gr.matrix(l, h)
	dh := gr.dh
	var s float64
	for a := 0; a < dh; a++ {
		xa := float64(x[a])
		row := g[a*dh : (a+1)*dh]
		var t float64
		for b := a + 1; b < dh; b++ {
			t += row[b] * float64(x[b])
		}
		s += xa * (row[a]*xa + 2*t)
	}
	return math.Sqrt(math.Max(s, 0))
}
