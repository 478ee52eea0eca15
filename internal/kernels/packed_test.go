package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmPacked checks that a product with a packed right-hand operand, or
// with a prefix of its columns or rows, is bit for bit the one Gemm computes
// from the same operands, for both layouts of B, scaled and not, with odd
// shapes and one or two threads.
func TestGemmPacked(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	shapes := []struct{ m, n, k, pn, pk int }{ // the product is m×n×k of a packed [pk][pn]
		{1, 1, 1, 1, 1}, {13, 33, 7, 33, 7}, {64, 100, 128, 4096 / 16, 128}, {64, 128, 300, 128, 512},
		{12, 31, 64, 95, 64}, {100, 70, 129, 70, 200}, {5, 40, 0, 40, 9}, {64, 260, 128, 260, 128},
	}
	for _, sh := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, alpha := range []float32{1, 0.125} {
					for threads := 1; threads <= 2; threads++ {
						name := fmt.Sprintf("m%d_n%d_k%d_of_%dx%d/tA=%v_tB=%v/a%v/t%d", sh.m, sh.n, sh.k, sh.pk, sh.pn, ta, tb, alpha, threads)
						t.Run(name, func(t *testing.T) {
							lda, ldb := sh.k+3, sh.pn+5
							if ta {
								lda = sh.m + 2
							}
							if tb {
								ldb = sh.pk + 1
							}
							rowsA, rowsB := sh.m, sh.pk
							if ta {
								rowsA = max(sh.k, 1)
							}
							if tb {
								rowsB = sh.pn
							}
							a := randSlice(rng, rowsA*lda)
							b := randSlice(rng, rowsB*ldb)
							pb := PackB(make([]float32, PackedBLen(sh.pn, sh.pk)), tb, alpha, b, ldb, sh.pn, sh.pk)
							ldc := sh.n + 1
							want := randSlice(rng, sh.m*ldc)
							got := append([]float32(nil), want...)
							Gemm(ta, tb, sh.m, sh.n, sh.k, alpha, a, lda, b, ldb, 0.5, want, ldc, threads)
							GemmPacked(ta, sh.m, sh.n, sh.k, a, lda, pb, 0.5, got, ldc, threads)
							for i := range want {
								if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
									t.Fatalf("C[%d][%d] = %v, Gemm gives %v", i/ldc, i%ldc, got[i], want[i])
								}
							}
						})
					}
				}
			}
		}
	}
}

// TestGemmPackedBounds checks that a product larger than the packed operand,
// or a buffer too short to pack into, is refused.
func TestGemmPackedBounds(t *testing.T) {
	pb := PackB(make([]float32, PackedBLen(40, 8)), false, 1, make([]float32, 8*40), 40, 40, 8)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"n", func() { GemmPacked(false, 2, 41, 8, make([]float32, 16), 8, pb, 0, make([]float32, 82), 41, 1) }},
		{"k", func() { GemmPacked(false, 2, 40, 9, make([]float32, 18), 9, pb, 0, make([]float32, 80), 40, 1) }},
		{"pack", func() { PackB(make([]float32, 8*40), false, 1, make([]float32, 8*40), 40, 40, 8) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", tc.name)
				}
			}()
			tc.f()
		}()
	}
}
