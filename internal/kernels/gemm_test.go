package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

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
