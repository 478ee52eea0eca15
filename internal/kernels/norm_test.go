package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// close32 reports |a-b| ≤ tol·max(1,|b|).
func close32(a, b float32, tol float64) bool {
	return math.Abs(float64(a)-float64(b)) <= tol*math.Max(1, math.Abs(float64(b)))
}

func TestSoftmax(t *testing.T) {
	inf := float32(math.Inf(-1))
	tests := []struct {
		name string
		in   []float32
		want []float32
	}{
		{"empty", []float32{}, []float32{}},
		{"single", []float32{5}, []float32{1}},
		// e^0 : e^ln2 = 1 : 2; the masked entry is exactly 0.
		{"masked", []float32{0, float32(math.Ln2), inf}, []float32{1.0 / 3, 2.0 / 3, 0}},
		{"large values do not overflow", []float32{1000, 1000}, []float32{0.5, 0.5}},
		{"shift invariance", []float32{-1001, -1000}, []float32{float32(1 / (1 + math.E)), float32(math.E / (1 + math.E))}},
		{"all masked", []float32{inf, inf}, []float32{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := append([]float32(nil), tt.in...)
			Softmax(x)
			for i := range x {
				// A few float32 roundings of values ≤ 1.
				if !close32(x[i], tt.want[i], 3e-7) {
					t.Errorf("Softmax(%v)[%d] = %v, want %v", tt.in, i, x[i], tt.want[i])
				}
			}
		})
	}
}

// TestSoftmaxKernels runs every implementation on rows long enough for the
// vector code (masked entries, a wide range of scores, ragged lengths)
// against a float64 softmax: each probability within 4 ulp of exp plus the
// float32 sum's relative bound n·2⁻²⁴.
func TestSoftmaxKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 23))
	inf := float32(math.Inf(-1))
	for _, ks := range allKernels() {
		for _, n := range []int{1, 15, 16, 17, 100, 256, 1000} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 8)
				if rng.IntN(4) == 0 {
					x[i] = inf
				}
			}
			x[rng.IntN(n)] = 3 // at least one unmasked entry
			ref := make([]float64, n)
			mx := math.Inf(-1)
			for _, v := range x {
				mx = math.Max(mx, float64(v))
			}
			var sum float64
			for i, v := range x {
				ref[i] = math.Exp(float64(float32(float64(v) - mx)))
				sum += ref[i]
			}
			got := append([]float32(nil), x...)
			ks.softmax(got, got)
			// Out of place: the same bits, and src untouched.
			src := append([]float32(nil), x...)
			out := make([]float32, n)
			ks.softmax(out, src)
			for i := range out {
				if math.Float32bits(out[i]) != math.Float32bits(got[i]) || math.Float32bits(src[i]) != math.Float32bits(x[i]) {
					t.Fatalf("%s n=%d: out of place p[%d] = %v (src %v), in place %v (src %v)", ks.name, n, i, out[i], src[i], got[i], x[i])
				}
			}
			tol := 4*math.Ldexp(1, -24) + float64(n)*math.Ldexp(1, -24)
			for i := range got {
				want := ref[i] / sum
				if x[i] == inf && got[i] != 0 {
					t.Fatalf("%s n=%d: masked entry %d = %v, want 0", ks.name, n, i, got[i])
				}
				if math.Abs(float64(got[i])-want) > tol*want+1e-45 {
					t.Fatalf("%s n=%d: p[%d] = %v, want %v", ks.name, n, i, got[i], want)
				}
			}
		}
		// Padding a row with masked entries leaves its probabilities
		// bits unchanged (what incremental decoding relies on).
		for _, n := range []int{1, 7, 16, 23, 40} {
			row := make([]float32, n, n+37)
			for i := range row {
				row[i] = float32(rng.NormFloat64() * 3)
			}
			padded := append(append([]float32(nil), row...), make([]float32, 37)...)
			for i := n; i < len(padded); i++ {
				padded[i] = inf
			}
			ks.softmax(row, row)
			ks.softmax(padded, padded)
			for i := range row {
				if math.Float32bits(row[i]) != math.Float32bits(padded[i]) {
					t.Fatalf("%s: row of %d: p[%d] = %v, padded with -Inf %v", ks.name, n, i, row[i], padded[i])
				}
			}
		}
		// All masked: zeros. A NaN score: all NaN, as in torch.
		row := []float32{inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf, inf}
		ks.softmax(row, row)
		for _, v := range row {
			if v != 0 {
				t.Fatalf("%s: all-masked row gives %v, want zeros", ks.name, row)
			}
		}
		row = make([]float32, 40)
		row[20] = float32(math.NaN())
		ks.softmax(row, row)
		for _, v := range row {
			if v == v {
				t.Fatalf("%s: row with a NaN gives %v, want all NaN", ks.name, row)
			}
		}
	}
}

func TestRMSNorm(t *testing.T) {
	// x = [1 2 3 4]: mean(x²) = 30/4 = 7.5, so r = 1/√7.5 = 0.3651483716701107.
	r := 1 / math.Sqrt(7.5)
	tests := []struct {
		name   string
		weight []float32
		eps    float32
		want   []float64
	}{
		{"no weight", nil, 0, []float64{r, 2 * r, 3 * r, 4 * r}},
		{"weight", []float32{1, 1, 2, 0.5}, 0, []float64{r, 2 * r, 6 * r, 2 * r}},
		// eps 0.5: r = 1/√8 = 0.35355339059327373.
		{"eps", nil, 0.5, []float64{1 / math.Sqrt(8), 2 / math.Sqrt(8), 3 / math.Sqrt(8), 4 / math.Sqrt(8)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := []float32{1, 2, 3, 4}
			RMSNorm(x, x, tt.weight, tt.eps) // in place
			for i := range x {
				if !close32(x[i], float32(tt.want[i]), 4e-7) { // a few float32 roundings
					t.Errorf("RMSNorm[%d] = %v, want %v", i, x[i], tt.want[i])
				}
			}
		})
	}
}

func TestLayerNorm(t *testing.T) {
	// x = [1 2 3 4]: mean 2.5, biased variance 1.25, 1/√1.25 = 0.894427190999916.
	s := 1 / math.Sqrt(1.25)
	tests := []struct {
		name         string
		weight, bias []float32
		eps          float32
		want         []float64
	}{
		{"non-parametric", nil, nil, 0, []float64{-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s}},
		{"weight and bias", []float32{2, 1, 1, 0}, []float32{0, 1, 0, 7}, 0, []float64{-3 * s, 1 - 0.5*s, 0.5 * s, 7}},
		{"bias only", nil, []float32{1, 1, 1, 1}, 0, []float64{1 - 1.5*s, 1 - 0.5*s, 1 + 0.5*s, 1 + 1.5*s}},
		// eps 0.75: variance + eps = 2, scale 1/√2.
		{"eps", nil, nil, 0.75, []float64{-1.5 / math.Sqrt2, -0.5 / math.Sqrt2, 0.5 / math.Sqrt2, 1.5 / math.Sqrt2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := []float32{1, 2, 3, 4}
			dst := make([]float32, 4)
			LayerNorm(dst, x, tt.weight, tt.bias, tt.eps)
			for i := range dst {
				if !close32(dst[i], float32(tt.want[i]), 4e-7) {
					t.Errorf("LayerNorm[%d] = %v, want %v", i, dst[i], tt.want[i])
				}
			}
		})
	}
}
