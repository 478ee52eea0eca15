package bbtoy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// lossGrad returns the mean next-token cross-entropy of one sequence and, when
// grad is not nil, adds its gradient to grad (a flat vector of lay.total).
func lossGrad[F float](lay *layout, params []F, seq []int, grad []F) float64 {
	T := len(seq) - 1
	n := &net[F]{cfg: lay.cfg, w: bind(lay, params)}
	a := newActs[F](lay.cfg, T)
	n.forward(seq[:T], a, nil)
	loss := crossEntropy(a, seq[1:], lay.cfg.Vocab)
	if grad != nil {
		n.backward(seq[:T], seq[1:], a, bind(lay, grad), 1/F(T), newScratch[F](lay.cfg, T))
	}
	return loss / float64(T)
}

// TestGradientCheck compares the hand-written backward pass with central
// finite differences for every element of every parameter tensor, in float64
// (the same generic code instantiated at float64, with a float64 reference
// GEMM): step h = 1e-5, so the truncation error O(h²·f”') ≈ 1e-10 and the
// rounding error ≈ 1e-16/h ≈ 1e-11 are far below the gradients (≥ 1e-6 in
// norm per tensor). Every tensor is checked, on every element when it has at
// most maxChecked of them and on maxChecked evenly strided elements otherwise
// (to keep the test at a few seconds). The error per tensor is ‖g_fd − g‖ / ‖g_fd‖; the bound is
// 1e-3 (measured errors are around 1e-7). The sequence is 70 tokens, so the
// causal attention products cross a 64-row block boundary; 2 heads of width 4.
func TestGradientCheck(t *testing.T) {
	const maxChecked = 64
	task := BuiltinTask()
	seq := make([]int, 71)
	task.Sample(rand.New(rand.NewPCG(3, 4)), seq)
	for _, tc := range []struct {
		layers int
		attn   string
	}{{1, Softmax}, {1, ReLU}, {3, Softmax}, {3, ReLU}} {
		t.Run(fmt.Sprintf("%dL-%s", tc.layers, tc.attn), func(t *testing.T) {
			c := DefaultConfig(task, 8, tc.layers)
			c.Heads, c.MaxPos, c.Attention = 2, 70, tc.attn
			lay := newLayout(c)
			p32 := make([]float32, lay.total)
			lay.init(p32, rand.New(rand.NewPCG(5, 6)))
			p := make([]float64, lay.total)
			for i, v := range p32 {
				p[i] = float64(v)
			}
			g := make([]float64, lay.total)
			lossGrad(lay, p, seq, g)
			const h = 1e-5
			for _, s := range lay.specs {
				var num, den float64
				stride := max(1, s.n/maxChecked)
				for i := s.off; i < s.off+s.n; i += stride {
					old := p[i]
					p[i] = old + h
					lp := lossGrad(lay, p, seq, nil)
					p[i] = old - h
					lm := lossGrad(lay, p, seq, nil)
					p[i] = old
					fd := (lp - lm) / (2 * h)
					num += (fd - g[i]) * (fd - g[i])
					den += fd * fd
				}
				rel := math.Sqrt(num / den)
				if !(rel <= 1e-3) || den == 0 {
					t.Errorf("%s: relative gradient error %.3g (‖g_fd‖ = %.3g), want ≤ 1e-3", s.name, rel, math.Sqrt(den))
				} else if testing.Verbose() {
					t.Logf("%-32s rel err %.2e  ‖g‖ %.2e", s.name, rel, math.Sqrt(den))
				}
			}
			// The float32 path (kernels.Gemm) gives the same gradient to float32 accuracy.
			g32 := make([]float32, lay.total)
			lossGrad(lay, p32, seq, g32)
			var num, den float64
			for i, v := range g32 {
				num += (float64(v) - g[i]) * (float64(v) - g[i])
				den += g[i] * g[i]
			}
			if rel := math.Sqrt(num / den); !(rel <= 1e-4) {
				t.Errorf("float32 gradient differs from float64 by %.3g relative, want ≤ 1e-4", rel)
			}
		})
	}
}
