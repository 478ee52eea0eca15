package kernels

import (
	"fmt"
	"math"
)

// RopeScaling is a config.json "rope_scaling" entry. Type "" and "default"
// mean no scaling; "linear" divides every inverse frequency by Factor;
// "llama3" applies Llama 3.1's piecewise rule with LowFreqFactor,
// HighFreqFactor and OriginalMaxPositions.
type RopeScaling struct {
	Type                 string
	Factor               float64
	LowFreqFactor        float64
	HighFreqFactor       float64
	OriginalMaxPositions int
}

// Validate reports whether RopeInvFreq supports s, with its parameters in
// range. A nil s is valid (no scaling).
func (s *RopeScaling) Validate() error {
	if s == nil {
		return nil
	}
	switch s.Type {
	case "", "default":
		return nil
	case "linear":
		if !(s.Factor > 0) {
			return fmt.Errorf("rope_scaling linear: factor %v, want > 0", s.Factor)
		}
		return nil
	case "llama3":
		if !(s.Factor > 0) {
			return fmt.Errorf("rope_scaling llama3: factor %v, want > 0", s.Factor)
		}
		if !(s.LowFreqFactor > 0) || !(s.HighFreqFactor > s.LowFreqFactor) {
			return fmt.Errorf("rope_scaling llama3: low_freq_factor %v, high_freq_factor %v, want 0 < low < high",
				s.LowFreqFactor, s.HighFreqFactor)
		}
		if s.OriginalMaxPositions <= 0 {
			return fmt.Errorf("rope_scaling llama3: original_max_position_embeddings %d, want > 0", s.OriginalMaxPositions)
		}
		return nil
	}
	return fmt.Errorf("rope_scaling type %q not supported (want default, linear or llama3)", s.Type)
}

// RopeInvFreq returns the headDim/2 inverse frequencies of rotary embeddings
// with base theta, as Hugging Face transformers computes them in float32:
// 1/theta^(2i/headDim), then the scaling rule of s (nil: none). It returns
// nil when headDim is not a positive even number or s fails Validate.
func RopeInvFreq(headDim int, theta float64, s *RopeScaling) []float32 {
	if headDim <= 0 || headDim%2 != 0 || s.Validate() != nil {
		return nil
	}
	half := headDim / 2
	inv := make([]float32, half)
	base := float64(float32(theta))
	for i := range inv {
		e := float32(2*i) / float32(headDim)
		p := float32(math.Pow(base, float64(e)))
		inv[i] = 1 / p
	}
	if s == nil {
		return inv
	}
	switch s.Type {
	case "linear":
		f := float32(s.Factor)
		for i := range inv {
			inv[i] /= f
		}
	case "llama3":
		llama3Scale(inv, s)
	}
	return inv
}

// llama3Scale applies transformers' _compute_llama3_parameters to inv in
// place, operation by operation in float32 like the torch code: long
// wavelengths (> original/low) are divided by factor, short ones
// (< original/high) kept, and the band between interpolated smoothly.
func llama3Scale(inv []float32, s *RopeScaling) {
	factor := float32(s.Factor)
	low := float32(s.LowFreqFactor)
	orig := float32(s.OriginalMaxPositions)
	lowWavelen := float32(float64(s.OriginalMaxPositions) / s.LowFreqFactor)
	highWavelen := float32(float64(s.OriginalMaxPositions) / s.HighFreqFactor)
	span := float32(s.HighFreqFactor - s.LowFreqFactor)
	twoPi := float32(2 * math.Pi)
	for i, f := range inv {
		wavelen := twoPi / f
		switch {
		case wavelen > lowWavelen:
			inv[i] = f / factor
		case wavelen < highWavelen:
			// unchanged
		default:
			smooth := float32(orig/wavelen-low) / span
			a := float32(float32(1-smooth)*f) / factor
			b := float32(smooth * f)
			inv[i] = a + b
		}
	}
}

// RopeTable returns cos and sin tables [n][len(invFreq)] for positions
// 0..n-1, with angle = float32(pos)·invFreq[i] rounded to float32 as torch
// computes it.
func RopeTable(invFreq []float32, n int) (cos, sin []float32) {
	h := len(invFreq)
	cos = make([]float32, n*h)
	sin = make([]float32, n*h)
	for pos := 0; pos < n; pos++ {
		for i, f := range invFreq {
			a := float64(float32(pos) * f)
			cos[pos*h+i] = float32(math.Cos(a))
			sin[pos*h+i] = float32(math.Sin(a))
		}
	}
	return cos, sin
}

// ApplyRope rotates one head vector x (len 2·len(cos)) in place with one
// position's rows of the tables, in Hugging Face's rotate_half layout: the
// pairs are (x[i], x[i+h]) for h = len(cos), and
// x' = x·cos + rotate_half(x)·sin with rotate_half(x) = (−x[h:], x[:h]).
func ApplyRope(x, cos, sin []float32) {
	h := len(cos)
	sin = sin[:h]
	x1 := x[:h]
	x2 := x[h : 2*h]
	for i := range x1 {
		a, b := x1[i], x2[i]
		c, s := cos[i], sin[i]
		// Explicit conversions keep each product rounded (no FMA fusion),
		// matching torch's q*cos + rotate_half(q)*sin.
		x1[i] = float32(a*c) - float32(b*s)
		x2[i] = float32(b*c) + float32(a*s)
	}
}
