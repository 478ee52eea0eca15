package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randWeight returns a rows×cols weight in dtype dt with N(0,1) values, and
// the same values as float32 (what the kernels must see after conversion).
func randWeight(rng *rand.Rand, dt DType, rows, cols int) (Weight, []float32) {
	vals := make([]float32, rows*cols)
	data := make([]byte, rows*cols*dt.Size())
	for i := range vals {
		v := float32(rng.NormFloat64())
		switch dt {
		case F32:
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		case F16:
			h := F32ToF16(v)
			binary.LittleEndian.PutUint16(data[2*i:], h)
			v = F16ToF32(h)
		case BF16:
			h := F32ToBF16(v)
			binary.LittleEndian.PutUint16(data[2*i:], h)
			v = BF16ToF32(h)
		}
		vals[i] = v
	}
	return Weight{DType: dt, Rows: rows, Cols: cols, Data: data}, vals
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// checkClose compares got with a float64 reference: each element may differ
// by the standard worst-case bound for a float32 sum of k products,
// k·2⁻²³·Σ|terms| (plus a tiny absolute slack for exact zeros).
func checkClose(t *testing.T, what string, got []float32, ref, absSum []float64, k int) {
	t.Helper()
	for i := range ref {
		tol := float64(k+2)*math.Ldexp(1, -23)*absSum[i] + 1e-30
		if d := math.Abs(float64(got[i]) - ref[i]); !(d <= tol) {
			t.Fatalf("%s: element %d = %v, want %v (|diff| %.3g > tol %.3g)", what, i, got[i], ref[i], d, tol)
		}
	}
}

func TestMatMulT(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []struct{ n, rows, cols int }{
		{1, 1, 1}, {1, 5, 3}, {3, 7, 9}, {1, 130, 300}, {4, 16, 16}, {31, 13, 17},
		{33, 25, 65}, {12, 32, 256}, {37, 50, 300}, {64, 96, 257}, {2, 200, 1030}, {300, 30, 40}, {530, 13, 5},
	}
	for _, ks := range allKernels() {
		for _, dt := range []DType{F32, F16, BF16} {
			for _, sz := range sizes {
				for _, threads := range []int{1, 2, 3} {
					name := fmt.Sprintf("%s/%v/n%d_r%d_c%d/t%d", ks.name, dt, sz.n, sz.rows, sz.cols, threads)
					t.Run(name, func(t *testing.T) {
						w, wv := randWeight(rng, dt, sz.rows, sz.cols)
						x := randSlice(rng, sz.n*sz.cols)
						ref := make([]float64, sz.n*sz.rows)
						abs := make([]float64, sz.n*sz.rows)
						for i := 0; i < sz.n; i++ {
							for j := 0; j < sz.rows; j++ {
								var s, a float64
								for p := 0; p < sz.cols; p++ {
									v := float64(x[i*sz.cols+p]) * float64(wv[j*sz.cols+p])
									s += v
									a += math.Abs(v)
								}
								ref[i*sz.rows+j], abs[i*sz.rows+j] = s, a
							}
						}
						dst := make([]float32, sz.n*sz.rows+1)
						dst[len(dst)-1] = 42 // guard: must stay untouched
						matMulT(ks, dst, x, sz.n, w, threads)
						checkClose(t, name, dst, ref, abs, sz.cols)
						if dst[len(dst)-1] != 42 {
							t.Fatalf("MatMulT wrote past n*Rows")
						}
					})
				}
			}
		}
	}
}

func TestWeightRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dt := range []DType{F32, F16, BF16} {
		w, wv := randWeight(rng, dt, 5, 7)
		row := make([]float32, 7)
		for r := 0; r < 5; r++ {
			w.Row(r, row)
			for c, v := range row {
				if v != wv[r*7+c] {
					t.Fatalf("%v: Row(%d)[%d] = %v, want %v", dt, r, c, v, wv[r*7+c])
				}
			}
		}
	}
	vals := []float32{1, 2, 3, 4, 5, 6}
	fw := F32Weight(2, 3, vals)
	vals[4] = -1 // a view, not a copy
	row := make([]float32, 3)
	fw.Row(1, row)
	if row[0] != 4 || row[1] != -1 || row[2] != 6 || fw.Rows != 2 || fw.Cols != 3 || fw.DType != F32 {
		t.Errorf("F32Weight row 1 = %v (%+v), want [4 -1 6]", row, fw)
	}
}

// TestMatMulTBlocking runs the blocking variants the benchmarks compare
// (other k blocks, copied f32 panels, small token chunks so that several
// passes over x happen) against the default.
func TestMatMulTBlocking(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	const n, rows, cols = 70, 50, 300
	params := []mtParams{
		{kc: 128, mc: 32, nc: 24, copyF32: true},
		{kc: 64, mc: 64, nc: 12},
		{kc: 512, mc: 256, nc: 96},
	}
	for _, dt := range []DType{F32, BF16} {
		w, _ := randWeight(rng, dt, rows, cols)
		x := randSlice(rng, n*cols)
		want := make([]float32, n*rows)
		matMulTParams(&goKernels, mtDefault, want, x, n, w, 1)
		// Σ|x·w| per element, for the error bound: the same product on
		// absolute values (clear the sign bits).
		wabs := w
		wabs.Data = append([]byte(nil), w.Data...)
		for i := dt.Size() - 1; i < len(wabs.Data); i += dt.Size() {
			wabs.Data[i] &^= 0x80
		}
		xabs := make([]float32, len(x))
		for i, v := range x {
			xabs[i] = float32(math.Abs(float64(v)))
		}
		sumAbs := make([]float32, n*rows)
		matMulTParams(&goKernels, mtDefault, sumAbs, xabs, n, wabs, 1)
		for _, ks := range allKernels() {
			for _, prm := range params {
				got := make([]float32, n*rows)
				matMulTParams(ks, prm, got, x, n, w, 2)
				for i := range got {
					// Both are float32 sums of the same products in different
					// orders: each within cols·2⁻²³·Σ|x·w| of the exact value.
					tol := 2 * cols * math.Ldexp(1, -23) * float64(sumAbs[i])
					if d := math.Abs(float64(got[i] - want[i])); d > tol {
						t.Fatalf("%s %v %+v: element %d = %v, want %v", ks.name, dt, prm, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestMatMulTBatchInvariant checks that a token's output bits do not depend
// on the rest of the batch or on the thread count (what lets a model's
// incremental decoding reproduce a full forward exactly).
func TestMatMulTBatchInvariant(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 15))
	const n, rows, cols = 70, 53, 700
	for _, ks := range allKernels() {
		for _, dt := range []DType{F32, BF16} {
			w, _ := randWeight(rng, dt, rows, cols)
			x := randSlice(rng, n*cols)
			full := make([]float32, n*rows)
			matMulT(ks, full, x, n, w, 1)
			for _, tc := range []struct{ i0, cnt, threads int }{{0, 1, 1}, {69, 1, 2}, {5, 3, 2}, {10, 12, 2}, {33, 37, 3}, {0, n, 2}} {
				part := make([]float32, tc.cnt*rows)
				matMulT(ks, part, x[tc.i0*cols:(tc.i0+tc.cnt)*cols], tc.cnt, w, tc.threads)
				for i := range part {
					if math.Float32bits(part[i]) != math.Float32bits(full[tc.i0*rows+i]) {
						t.Fatalf("%s %v %+v: element %d = %v, full batch gives %v", ks.name, dt, tc, i, part[i], full[tc.i0*rows+i])
					}
				}
			}
		}
	}
}

// TestKernelsAgreeRandomShapes cross-checks every kernel set against the
// portable Go path on random shapes (ragged in every dimension, all dtypes,
// random transposes), within the float32 summation bound k·2⁻²³·Σ|terms|
// taken twice (both sides round).
func TestKernelsAgreeRandomShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 17))
	rounds := 40
	if testing.Short() {
		rounds = 10
	}
	for round := 0; round < rounds; round++ {
		n, rows, cols := 1+rng.IntN(90), 1+rng.IntN(80), 1+rng.IntN(600)
		dt := []DType{F32, F16, BF16}[rng.IntN(3)]
		w, wv := randWeight(rng, dt, rows, cols)
		x := randSlice(rng, n*cols)
		want := make([]float32, n*rows)
		matMulT(&goKernels, want, x, n, w, 1)
		abs := make([]float64, n*rows)
		for i := 0; i < n; i++ {
			for j := 0; j < rows; j++ {
				for p := 0; p < cols; p++ {
					abs[i*rows+j] += math.Abs(float64(x[i*cols+p]) * float64(wv[j*cols+p]))
				}
			}
		}
		for _, ks := range allKernels()[1:] {
			got := make([]float32, n*rows)
			matMulT(ks, got, x, n, w, 1+rng.IntN(3))
			for i := range got {
				tol := 2 * float64(cols) * math.Ldexp(1, -23) * abs[i]
				if d := math.Abs(float64(got[i] - want[i])); d > tol {
					t.Fatalf("MatMulT %s %v n=%d rows=%d cols=%d: element %d = %v, go %v", ks.name, dt, n, rows, cols, i, got[i], want[i])
				}
			}
		}

		// Gemm on the same operands: x as A, the weight values as B.
		ta, tb := rng.IntN(2) == 1, rng.IntN(2) == 1
		m, nn, k := n, rows, cols
		a, lda := x, k
		if ta {
			a, lda = transpose(x, m, k), m
		}
		b, ldb := transpose(wv, nn, k), nn
		if tb {
			b, ldb = wv, k
		}
		gwant := make([]float32, m*nn)
		gemm(&goKernels, ta, tb, m, nn, k, 1, a, lda, b, ldb, 0, gwant, nn, 1)
		for _, ks := range allKernels()[1:] {
			got := make([]float32, m*nn)
			gemm(ks, ta, tb, m, nn, k, 1, a, lda, b, ldb, 0, got, nn, 1+rng.IntN(3))
			for i := range got {
				tol := 2 * float64(k) * math.Ldexp(1, -23) * abs[i]
				if d := math.Abs(float64(got[i] - gwant[i])); d > tol {
					t.Fatalf("Gemm %s tA=%v tB=%v m=%d n=%d k=%d: element %d = %v, go %v", ks.name, ta, tb, m, nn, k, i, got[i], gwant[i])
				}
			}
		}
	}
}

// transpose returns the [cols][rows] transpose of the row-major s.
func transpose(s []float32, rows, cols int) []float32 {
	t := make([]float32, len(s))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			t[c*rows+r] = s[r*cols+c]
		}
	}
	return t
}
