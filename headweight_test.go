package sinkscope

import (
	"math"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/model"
)

// TestHeadWeightIsHeadOutput: the W_O^(h) a family hands out whole holds, in
// row r and column j, exactly what HeadOutput writes to dst[r] for the j-th
// unit vector, for o_proj stored [d_model, heads·head_dim] and for GPT-2's
// transposed Conv1D, in f32 and bf16.
func TestHeadWeightIsHeadOutput(t *testing.T) {
	for _, name := range []string{"stories260K_hf", "stories260K_hf_bf16", "gpt2_tiny", "gpt2_tiny_bf16", "pythia_tiny"} {
		t.Run(name, func(t *testing.T) {
			m, ck, err := Open(fixtures.Path(t, "hf/"+name), 1)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			hw, ok := m.(model.HeadWeighter)
			if !ok {
				t.Fatalf("%T is not a model.HeadWeighter", m)
			}
			in := m.Info()
			w := make([]float32, in.DModel*in.HeadDim)
			e, col := make([]float32, in.HeadDim), make([]float32, in.DModel)
			for l := 0; l < in.Layers; l++ {
				for h := 0; h < in.Heads; h++ {
					hw.HeadWeight(l, h, w)
					for j := range e {
						clear(e)
						e[j] = 1
						m.HeadOutput(l, h, col, e)
						for r, v := range col {
							if math.Float32bits(w[r*in.HeadDim+j]) != math.Float32bits(v) {
								t.Fatalf("layer %d head %d: W_O[%d][%d] = %v, HeadOutput of unit vector %d gives %v", l, h, r, j, w[r*in.HeadDim+j], j, v)
							}
						}
					}
				}
			}
		})
	}
}
