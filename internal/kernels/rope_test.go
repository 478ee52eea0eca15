package kernels

import (
	"math"
	"testing"
)

func TestRopeInvFreqDefault(t *testing.T) {
	// head_dim 4, theta 1e4: exponents 0 and 1/2, so 1 and 1/√1e4 = 0.01.
	tests := []struct {
		name string
		s    *RopeScaling
		want []float64
	}{
		{"nil", nil, []float64{1, 0.01}},
		{"default", &RopeScaling{Type: "default"}, []float64{1, 0.01}},
		{"linear 4", &RopeScaling{Type: "linear", Factor: 4}, []float64{0.25, 0.0025}},
	}
	for _, tt := range tests {
		got := RopeInvFreq(4, 1e4, tt.s)
		if len(got) != 2 {
			t.Fatalf("%s: len %d, want 2", tt.name, len(got))
		}
		for i := range got {
			if !close32(got[i], float32(tt.want[i]), 2e-7) { // one float32 pow and divide
				t.Errorf("%s: inv_freq[%d] = %v, want %v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
	for _, bad := range []struct {
		dim int
		s   *RopeScaling
	}{{3, nil}, {0, nil}, {8, &RopeScaling{Type: "yarn", Factor: 2}}, {8, &RopeScaling{Type: "linear"}}} {
		if got := RopeInvFreq(bad.dim, 1e4, bad.s); got != nil {
			t.Errorf("RopeInvFreq(%d, %+v) = %v, want nil", bad.dim, bad.s, got)
		}
	}
}

// TestRopeInvFreqLlama3 checks Llama 3.1's scaling (factor 8, low 1, high 4,
// original 8192, theta 5e5, head_dim 128) against the closed-form rule
// evaluated here independently in float64: wavelen = 2π/inv_freq; below
// original/high keep, above original/low divide by factor, in between
// interpolate with smooth = (original/wavelen − low)/(high − low).
func TestRopeInvFreqLlama3(t *testing.T) {
	s := &RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}
	got := RopeInvFreq(128, 5e5, s)
	if len(got) != 64 {
		t.Fatalf("len %d, want 64", len(got))
	}
	var kept, smoothed, divided int
	for i := range got {
		inv := 1 / math.Pow(5e5, float64(2*i)/128)
		wavelen := 2 * math.Pi / inv
		var want float64
		switch {
		case wavelen < 8192.0/4:
			want = inv
			kept++
		case wavelen > 8192.0/1:
			want = inv / 8
			divided++
		default:
			sm := (8192/wavelen - 1) / (4 - 1)
			want = (1-sm)*inv/8 + sm*inv
			smoothed++
		}
		// The implementation works in float32 like torch: pow, divide and
		// the interpolation each round, a few ulps (≈1e-7 relative) in all.
		if math.Abs(float64(got[i])-want) > 2e-6*want {
			t.Errorf("inv_freq[%d] = %v, want %v (rel diff %.2g)", i, got[i], want, math.Abs(float64(got[i])-want)/want)
		}
	}
	// By hand: wavelen_i = 2π·5e5^(i/64) < 2048 iff i ≤ 28; > 8192 iff i ≥ 35.
	if kept != 29 || smoothed != 6 || divided != 29 {
		t.Errorf("bands kept/smoothed/divided = %d/%d/%d, want 29/6/29", kept, smoothed, divided)
	}
	// Spot values: index 0 is 1 (kept), index 32 is 5e5^-0.5 = 1.4142e-3
	// with wavelen 4442.88, smooth = (8192/4442.88 − 1)/3 = 0.28128.
	if got[0] != 1 {
		t.Errorf("inv_freq[0] = %v, want 1", got[0])
	}
	if !close32(got[32]*1e3, 0.5248461609929547, 2e-6) {
		t.Errorf("inv_freq[32] = %v, want 5.248461609929547e-4", got[32])
	}
}

func TestRopeTableApply(t *testing.T) {
	inv := []float32{1, 0.01}
	cos, sin := RopeTable(inv, 3)
	if len(cos) != 6 || len(sin) != 6 {
		t.Fatalf("table lengths %d, %d, want 6", len(cos), len(sin))
	}
	// Row 0 is the identity rotation; row 2 has angles 2 and 0.02.
	wantCos := []float64{1, 1, math.Cos(1), math.Cos(0.01), math.Cos(2), math.Cos(0.02)}
	wantSin := []float64{0, 0, math.Sin(1), math.Sin(0.01), math.Sin(2), math.Sin(0.02)}
	for i := range cos {
		if !close32(cos[i], float32(wantCos[i]), 1e-7) || !close32(sin[i], float32(wantSin[i]), 1e-7) {
			t.Errorf("table[%d] = (%v, %v), want (%v, %v)", i, cos[i], sin[i], wantCos[i], wantSin[i])
		}
	}
	// rotate_half pairs (x0, x2) and (x1, x3). x = [1 0 0 1] at position 1:
	// (1, 0) → (cos 1, sin 1) and (0, 1) → (−sin 0.01, cos 0.01).
	x := []float32{1, 0, 0, 1}
	ApplyRope(x, cos[2:4], sin[2:4])
	want := []float64{math.Cos(1), -math.Sin(0.01), math.Sin(1), math.Cos(0.01)}
	for i := range x {
		if !close32(x[i], float32(want[i]), 2e-7) {
			t.Errorf("ApplyRope x[%d] = %v, want %v", i, x[i], want[i])
		}
	}
	// Position 0 leaves x unchanged exactly.
	y := []float32{0.3, -1.5, 2, 7}
	ApplyRope(y, cos[:2], sin[:2])
	for i, v := range []float32{0.3, -1.5, 2, 7} {
		if y[i] != v {
			t.Errorf("ApplyRope at position 0 changed x[%d] to %v", i, y[i])
		}
	}
}

// TestRopeInvFreqLlama3Torch pins the exact float32 bits that torch 1.13
// produces when it runs transformers' llama3 rule (inv_freq from
// 1/(5e5^(arange(0,128,2)/128)) in float32, then _compute_llama3_parameters
// with factor 8, low 1, high 4, original 8192). Bit equality holds because
// both evaluate the same float32 operations in the same order.
func TestRopeInvFreqLlama3Torch(t *testing.T) {
	want := []uint32{
		0x3f800000, 0x3f508ac1, 0x3f29e1c6, 0x3f0a6384, 0x3ee177bc, 0x3eb7ab7d, 0x3e959ee3, 0x3e73c461,
		0x3e4693b0, 0x3e21c3a0, 0x3e03c6a0, 0x3dd6b19c, 0x3daee4ad, 0x3d8e7898, 0x3d681e67, 0x3d3d1684,
		0x3d1a08c8, 0x3cfaf53f, 0x3ccc6f49, 0x3ca68939, 0x3c87a9c3, 0x3c5d06ec, 0x3c340d6d, 0x3c12ac7f,
		0x3beef74f, 0x3bc2aa76, 0x3b9e9402, 0x3b812e35, 0x3b527720, 0x3b0dfd06, 0x3ab3d11d, 0x3a60979e,
		0x3a0995d2, 0x39a3f108, 0x393b2dd2, 0x38c86886, 0x38a3418d, 0x3884fdbf, 0x3858ac81, 0x38308199,
		0x380fc8f8, 0x37ea426f, 0x37bed4f4, 0x379b7475, 0x377d45c3, 0x374e51f5, 0x3728126b, 0x3708ea0f,
		0x36df10c4, 0x36b5b687, 0x369406cb, 0x36712b80, 0x36447610, 0x36200a69, 0x36025f34, 0x35d46808,
		0x35ad07a7, 0x358cf400, 0x3565a54d, 0x353b12c7, 0x351864a7, 0x34f848c2, 0x34ca41b0, 0x34a4c2ff,
	}
	s := &RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}
	got := RopeInvFreq(128, 5e5, s)
	for i, w := range want {
		if math.Float32bits(got[i]) != w {
			t.Errorf("inv_freq[%d] bits %#08x, torch %#08x", i, math.Float32bits(got[i]), w)
		}
	}
}
