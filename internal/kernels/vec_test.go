package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestSiLU(t *testing.T) {
	tests := []struct{ in, want float64 }{
		{0, 0},
		{1, 1 / (1 + math.Exp(-1))}, // 0.7310585786300049
		{-1, -1 / (1 + math.E)},     // -0.2689414213699951
		{20, 20 / (1 + math.Exp(-20))},
		{100, 100},
		{-100, -100 / (1 + math.Exp(100))}, // ≈ -3.7e-42, a float32 subnormal
		{-1000, 0},
	}
	for _, tt := range tests {
		if got := SiLU(float32(tt.in)); got != float32(tt.want) {
			t.Errorf("SiLU(%v) = %v, want %v", tt.in, got, float32(tt.want))
		}
	}
}

func TestDotAxpy(t *testing.T) {
	tests := []struct {
		a, b []float32
		dot  float32
	}{
		{nil, nil, 0},
		{[]float32{2}, []float32{3}, 6},
		{[]float32{1, 2, 3}, []float32{4, 5, 6}, 32},
		{[]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, []float32{1, 1, 1, 1, 1, 1, 1, 1, -1}, 27},
		{[]float32{1, -1}, []float32{1, 1, 99}, 0}, // b longer than a: extra ignored
	}
	for _, tt := range tests {
		if got := Dot(tt.a, tt.b); got != tt.dot {
			t.Errorf("Dot(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.dot)
		}
	}
	y := []float32{1, 1, 1, 5}
	Axpy(2, []float32{1, 2, 3}, y)
	want := []float32{3, 5, 7, 5}
	for i := range y {
		if y[i] != want[i] {
			t.Errorf("Axpy: y = %v, want %v", y, want)
			break
		}
	}
}

// TestDotAxpyKernels checks every implementation on lengths around the
// vector widths (16, 64) against float64 references.
func TestDotAxpyKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, ks := range allKernels() {
		for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 65, 130, 1000} {
			a, b := randSlice(rng, n), randSlice(rng, n+3)
			var ref, abs float64
			for i := 0; i < n; i++ {
				ref += float64(a[i]) * float64(b[i])
				abs += math.Abs(float64(a[i]) * float64(b[i]))
			}
			checkClose(t, fmt.Sprintf("%s dot n=%d", ks.name, n), []float32{ks.dot(a, b)}, []float64{ref}, []float64{abs}, n)

			y := randSlice(rng, n+2)
			want := make([]float64, n+2)
			wabs := make([]float64, n+2)
			for i := range y {
				want[i] = float64(y[i])
				wabs[i] = math.Abs(want[i])
				if i < n {
					want[i] += 0.75 * float64(a[i])
					wabs[i] += math.Abs(0.75 * float64(a[i]))
				}
			}
			ks.axpy(0.75, a, y)
			// One or two roundings per element: the k = 1 bound.
			checkClose(t, fmt.Sprintf("%s axpy n=%d", ks.name, n), y, want, wabs, 1)
		}
	}
}

// TestSoftcap compares every implementation with float64 tanh over a
// range of magnitudes (and ±Inf), to 3e-7·c absolute.
func TestSoftcap(t *testing.T) {
	const c = 30
	var x []float32
	for _, v := range []float64{0, 1e-6, 1e-3, 0.3, 1.4, 1.6, 7, 29, 30, 45, 100, 1e4, math.Inf(1)} {
		x = append(x, float32(v), float32(-v))
	}
	for i := 0; i < 1000; i++ {
		x = append(x, float32(i-500)*0.173)
	}
	for _, ks := range allKernels() {
		got := append([]float32(nil), x...)
		ks.softcap(got, c)
		for i, v := range x {
			want := c * math.Tanh(float64(v)/c)
			if d := math.Abs(float64(got[i]) - want); !(d <= 3e-7*c) {
				t.Errorf("%s: softcap(%g) = %.9g, want %.9g", ks.name, v, got[i], want)
			}
		}
	}
}
