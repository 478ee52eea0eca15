package kernels

// Gemm computes the row-major C[m][n] = alpha·op(A)·op(B) + beta·C, where
// op(A) is [m][k] (A is [m][lda≥k], or [k][lda≥m] when transA) and op(B) is
// [k][n] (B is [k][ldb≥n], or [n][ldb≥k] when transB). As in BLAS, beta = 0
// overwrites C without reading it. threads ≤ 0 uses GOMAXPROCS goroutines.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int, threads int) {
	if m <= 0 || n <= 0 {
		return
	}
	parallelFor(m, 16, numThreads(threads), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ci := c[i*ldc : i*ldc+n]
			scaleRow(ci, beta)
			if alpha == 0 || k == 0 {
				continue
			}
			for p := 0; p < k; p++ {
				var aip float32
				if transA {
					aip = a[p*lda+i]
				} else {
					aip = a[i*lda+p]
				}
				aip *= alpha
				if transB {
					for j := range ci {
						ci[j] += aip * b[j*ldb+p]
					}
				} else {
					Axpy(aip, b[p*ldb:p*ldb+n], ci)
				}
			}
		}
	})
}

// scaleRow sets c = beta·c, with beta = 0 meaning overwrite with zeros.
func scaleRow(c []float32, beta float32) {
	switch beta {
	case 0:
		clear(c)
	case 1:
	default:
		for j := range c {
			c[j] *= beta
		}
	}
}
