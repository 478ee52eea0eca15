package bbtoy

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFloat32MatchesFloat64Full compares the float32 path (kernels.Gemm) with
// the float64 reference on the training configuration's shapes (d 64, one
// head of 64, a full 256-token sequence: four 64-row attention blocks): the
// gradients agree to 1e-4 relative (float32 accumulation over 256 positions).
func TestFloat32MatchesFloat64Full(t *testing.T) {
	task := BuiltinTask()
	seq := make([]int, SeqLen+1)
	task.Sample(rand.New(rand.NewPCG(8, 9)), seq)
	for _, attn := range []string{Softmax, ReLU} {
		c := DefaultConfig(task, 64, 1)
		c.Attention = attn
		lay := newLayout(c)
		p32 := make([]float32, lay.total)
		lay.init(p32, rand.New(rand.NewPCG(5, 6)))
		p64 := make([]float64, lay.total)
		for i, v := range p32 {
			p64[i] = float64(v)
		}
		g32, g64 := make([]float32, lay.total), make([]float64, lay.total)
		l32 := lossGrad(lay, p32, seq, g32)
		l64 := lossGrad(lay, p64, seq, g64)
		if math.Abs(l32-l64) > 1e-5 {
			t.Errorf("%s: loss %v (float32) vs %v (float64)", attn, l32, l64)
		}
		for _, s := range lay.specs {
			var num, den float64
			for i := s.off; i < s.off+s.n; i++ {
				d := float64(g32[i]) - g64[i]
				num += d * d
				den += g64[i] * g64[i]
			}
			if rel := math.Sqrt(num / den); !(rel <= 1e-4) {
				t.Errorf("%s: %s: float32 gradient differs by %.3g relative", attn, s.name, rel)
			}
		}
	}
}
