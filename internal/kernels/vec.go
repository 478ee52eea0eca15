package kernels

import "math"

// SiLU returns x·sigmoid(x) = x / (1 + e^-x).
func SiLU(x float32) float32 {
	return float32(float64(x) / (1 + math.Exp(-float64(x))))
}

// Dot returns Σ a[i]·b[i] over len(a) elements (b must be at least as long),
// accumulated in float32 (in several partial sums, possibly with fused
// multiply-adds).
func Dot(a, b []float32) float32 { return bestKernels().dot(a, b) }

// Axpy computes y[i] += alpha·x[i] over len(x) elements (possibly with fused
// multiply-adds).
func Axpy(alpha float32, x, y []float32) { bestKernels().axpy(alpha, x, y) }

func dotGo(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// Softcap replaces every x by c·tanh(x/c) (Gemma 2's soft-capping of
// attention scores and logits), within about 2e-7·c of the float64 value.
func Softcap(x []float32, c float32) { bestKernels().softcap(x, c) }

func softcapGo(x []float32, c float32) {
	for i, v := range x {
		x[i] = float32(math.Tanh(float64(v/c))) * c
	}
}

// tanhFromExp returns tanh(y) given e = exp(−2|y|): sign(y)·(1−e)/(1+e),
// with the odd series y − y³/3 + 2y⁵/15 − 17y⁷/315 where 1−e would cancel
// (|y| < 0.05: the next term is below 1e-10·|y|).
func tanhFromExp(y, e float32) float32 {
	if y < 0.05 && y > -0.05 {
		y2 := y * y
		return y * (1 - y2*(1.0/3-y2*(2.0/15-y2*(17.0/315))))
	}
	t := (1 - e) / (1 + e)
	if y < 0 {
		return -t
	}
	return t
}
