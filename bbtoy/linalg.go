package bbtoy

import (
	"math"

	"github.com/sinkscope/sinkscope/internal/kernels"
)

// gemm is kernels.Gemm (single-threaded: callers parallelise over sequences)
// for float32, and a plain reference loop for the float64 gradient check.
func gemm[F float](transA, transB bool, m, n, k int, alpha F, a []F, lda int, b []F, ldb int, beta F, c []F, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		kernels.Gemm(transA, transB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb,
			float32(beta), any(c).([]float32), ldc, 1)
	case []float64:
		gemm64(transA, transB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

func gemm64(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var x, y float64
				if transA {
					x = a[p*lda+i]
				} else {
					x = a[i*lda+p]
				}
				if transB {
					y = b[j*ldb+p]
				} else {
					y = b[p*ldb+j]
				}
				s += x * y
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

func sqrt[F float](x F) F { return F(math.Sqrt(float64(x))) }

// exp is e^x: math.Exp for float64 (the gradient check), and for float32 a
// range-reduced polynomial (x = n·ln2 + r, |r| ≤ ln2/2, degree-6 Taylor
// series of e^r) with a relative error below 2e-7, about float32's rounding.
func exp[F float](x F) F {
	if _, ok := any(x).(float64); ok {
		return F(math.Exp(float64(x)))
	}
	return F(exp32(float32(x)))
}

func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < -87.3:
		return 0
	case x > 88.7:
		return float32(math.Inf(1))
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// layerNorm normalises the rows of x [T][d] into y, keeping x̂ and 1/σ for the
// backward pass: y = x̂·w + b, x̂ = (x − μ)/√(var + eps) (biased variance, as
// torch.nn.LayerNorm).
func layerNorm[F float](y, xhat, rstd, x, w, b []F, d int, eps F) {
	T := len(rstd)
	for t := 0; t < T; t++ {
		xr := x[t*d : (t+1)*d]
		var mu F
		for _, v := range xr {
			mu += v
		}
		mu /= F(d)
		var va F
		for _, v := range xr {
			va += (v - mu) * (v - mu)
		}
		va /= F(d)
		r := 1 / sqrt(va+eps)
		rstd[t] = r
		yr, hr := y[t*d:(t+1)*d], xhat[t*d:(t+1)*d]
		for i, v := range xr {
			h := (v - mu) * r
			hr[i] = h
			yr[i] = h*w[i] + b[i]
		}
	}
}

// layerNormBack adds to dx the gradient through a LayerNorm with output
// gradient dy, and accumulates the weight and bias gradients.
func layerNormBack[F float](dx, dy, xhat, rstd, w, gw, gb []F, d int) {
	T := len(rstd)
	for t := 0; t < T; t++ {
		dyr, hr := dy[t*d:(t+1)*d], xhat[t*d:(t+1)*d]
		var mg, mgx F
		for i, g := range dyr {
			gw[i] += g * hr[i]
			gb[i] += g
			gg := g * w[i]
			mg += gg
			mgx += gg * hr[i]
		}
		mg /= F(d)
		mgx /= F(d)
		r := rstd[t]
		dxr := dx[t*d : (t+1)*d]
		for i, g := range dyr {
			dxr[i] += r * (g*w[i] - mg - hr[i]*mgx)
		}
	}
}
