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
		{1, 1, 1}, {1, 5, 3}, {3, 7, 9}, {6, 70, 33}, {7, 70, 33}, {1, 130, 300}, {4, 16, 16}, {31, 13, 17},
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

// naiveGemm is the reference: float64 sums of op(A)·op(B), and the sum of
// absolute terms for the tolerance.
func naiveGemm(transA, transB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int,
	beta float64, c []float32, ldc int) (ref, abs []float64) {
	ref = make([]float64, m*n)
	abs = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if transB {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				s += av * bv
				sa += math.Abs(av * bv)
			}
			cv := 0.0
			if beta != 0 {
				cv = beta * float64(c[i*ldc+j])
			}
			ref[i*n+j] = alpha*s + cv
			abs[i*n+j] = math.Abs(alpha)*sa + math.Abs(cv)
		}
	}
	return ref, abs
}

func TestGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shapes := []struct{ m, n, k int }{
		{1, 1, 1}, {3, 5, 2}, {13, 33, 7}, {12, 32, 64}, {25, 70, 64},
		{64, 64, 64}, {100, 37, 129}, {7, 300, 3}, {40, 20, 0}, {200, 300, 70}, {30, 64, 600},
	}
	scal := []struct{ alpha, beta float32 }{{1, 0}, {1, 1}, {0.5, -2}, {0, 0.25}}
	for _, ks := range allKernels() {
		for _, sh := range shapes {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					for si, sc := range scal {
						threads := 1 + si%3
						name := fmt.Sprintf("%s/m%d_n%d_k%d/tA=%v_tB=%v/a%v_b%v", ks.name, sh.m, sh.n, sh.k, ta, tb, sc.alpha, sc.beta)
						t.Run(name, func(t *testing.T) {
							// Leading dimensions larger than needed, to catch stride bugs.
							lda := sh.k + 3
							arows := sh.m
							if ta {
								lda, arows = sh.m+2, sh.k
							}
							ldb := sh.n + 1
							brows := sh.k
							if tb {
								ldb, brows = sh.k+5, sh.n
							}
							ldc := sh.n + 4
							a := randSlice(rng, max(arows*lda, 1))
							b := randSlice(rng, max(brows*ldb, 1))
							c := randSlice(rng, sh.m*ldc)
							if sc.beta == 0 {
								for i := range c {
									c[i] = float32(math.NaN()) // beta = 0 must not read C
								}
							}
							ref, abs := naiveGemm(ta, tb, sh.m, sh.n, sh.k, float64(sc.alpha), a, lda, b, ldb, float64(sc.beta), c, ldc)
							pad := append([]float32(nil), c...)
							gemm(ks, ta, tb, sh.m, sh.n, sh.k, sc.alpha, a, lda, b, ldb, sc.beta, c, ldc, threads)
							got := make([]float32, sh.m*sh.n)
							for i := 0; i < sh.m; i++ {
								copy(got[i*sh.n:(i+1)*sh.n], c[i*ldc:])
								for j := sh.n; j < ldc; j++ {
									if math.Float32bits(c[i*ldc+j]) != math.Float32bits(pad[i*ldc+j]) {
										t.Fatalf("Gemm wrote C[%d][%d] outside n", i, j)
									}
								}
							}
							checkClose(t, name, got, ref, abs, sh.k)
						})
					}
				}
			}
		}
	}
}

// TestMatMulTUnalignedF32 runs f32 weights whose bytes start at an odd
// address, as a view into a safetensors file may: the assembly kernels read
// them in place.
func TestMatMulTUnalignedF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const n, rows, cols = 40, 37, 300
	w, wv := randWeight(rng, F32, rows, cols)
	buf := make([]byte, len(w.Data)+1)
	copy(buf[1:], w.Data)
	w.Data = buf[1:]
	x := randSlice(rng, n*cols)
	ref := make([]float64, n*rows)
	abs := make([]float64, n*rows)
	for i := 0; i < n; i++ {
		for j := 0; j < rows; j++ {
			for p := 0; p < cols; p++ {
				v := float64(x[i*cols+p]) * float64(wv[j*cols+p])
				ref[i*rows+j] += v
				abs[i*rows+j] += math.Abs(v)
			}
		}
	}
	for _, ks := range allKernels() {
		dst := make([]float32, n*rows)
		matMulT(ks, dst, x, n, w, 2)
		checkClose(t, ks.name, dst, ref, abs, cols)
	}
}

// TestMatMulTBlocking runs the blocking variants the benchmarks compare
// (other k blocks, token-inner loop order, small token chunks so that several
// passes over x happen) against the default.
func TestMatMulTBlocking(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	const n, rows, cols = 70, 50, 300
	params := []mtParams{
		{kc: 128, mc: 32, nc: 24, tokensInner: true},
		{kc: 64, mc: 64, nc: 12},
		{kc: 512, mc: 256, nc: 96, tokensInner: true},
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
