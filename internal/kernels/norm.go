package kernels

import (
	"math"
)

// Softmax replaces x by softmax(x) in place: max-subtracted exponentials
// divided by their float32 sum. -Inf entries (masked positions) become 0; a
// row that is entirely -Inf becomes all zeros (torch would give NaN).
func Softmax(x []float32) { bestKernels().softmax(x, x) }

// SoftmaxTo writes softmax(src) into dst (at least len(src) long), with the
// bits Softmax would leave in src.
func SoftmaxTo(dst, src []float32) { bestKernels().softmax(dst[:len(src)], src) }

// softmaxGo is Softmax from src into dst (which may be src).
func softmaxGo(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	mx := float32(math.Inf(-1))
	for _, v := range src {
		if v > mx {
			mx = v
		}
	}
	if math.IsInf(float64(mx), -1) {
		clear(dst)
		return
	}
	var sum float32
	for i, v := range src {
		e := float32(math.Exp(float64(v - mx)))
		dst[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range dst {
		dst[i] *= inv
	}
}

// RMSNorm writes dst = (x · rsqrt(mean(x²) + eps)) · weight for one row, in
// the order Hugging Face's LlamaRMSNorm evaluates it. weight nil means ones.
// dst may alias x.
func RMSNorm(dst, x, weight []float32, eps float32) {
	n := len(x)
	if n == 0 {
		return
	}
	dst = dst[:n]
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	r := rsqrt(ss/float32(n) + eps)
	if weight == nil {
		for i, v := range x {
			dst[i] = v * r
		}
		return
	}
	weight = weight[:n]
	for i, v := range x {
		dst[i] = float32(v*r) * weight[i]
	}
}

// LayerNorm writes dst = (x − mean) · rsqrt(var + eps) · weight + bias for one
// row, with the biased variance as torch computes it. nil weight means ones,
// nil bias zeros (OLMo's non-parametric LayerNorm has both nil). dst may
// alias x.
func LayerNorm(dst, x, weight, bias []float32, eps float32) {
	n := len(x)
	if n == 0 {
		return
	}
	dst = dst[:n]
	var s float32
	for _, v := range x {
		s += v
	}
	mean := s / float32(n)
	var ss float32
	for _, v := range x {
		d := v - mean
		ss += d * d
	}
	r := rsqrt(ss/float32(n) + eps)
	if weight != nil {
		weight = weight[:n]
	}
	if bias != nil {
		bias = bias[:n]
	}
	for i, v := range x {
		y := float32(v-mean) * r
		if weight != nil {
			y = float32(y * weight[i])
		}
		if bias != nil {
			y += bias[i]
		}
		dst[i] = y
	}
}

// rsqrt returns 1/√v rounded to float32.
func rsqrt(v float32) float32 {
	return float32(1 / math.Sqrt(float64(v)))
}
