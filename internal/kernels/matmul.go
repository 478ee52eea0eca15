package kernels

// MatMulT computes dst = x · wᵀ: dst is [n][w.Rows], x is [n][w.Cols].
// Weights are read in their stored dtype and converted in small panels; no
// float32 copy of w is made. threads ≤ 0 uses GOMAXPROCS goroutines.
func MatMulT(dst, x []float32, n int, w Weight, threads int) {
	if n <= 0 || w.Rows == 0 {
		return
	}
	k := w.Cols
	_ = dst[n*w.Rows-1]
	if k == 0 {
		clear(dst[:n*w.Rows])
		return
	}
	_ = x[n*k-1]
	const rowsPerChunk = 8
	parallelFor(w.Rows, rowsPerChunk, numThreads(threads), func(lo, hi int) {
		buf := make([]float32, rowsPerChunk*k)
		for r0 := lo; r0 < hi; r0 += rowsPerChunk {
			nr := min(rowsPerChunk, hi-r0)
			w.block(buf, k, r0, nr, 0, k)
			for i := 0; i < n; i++ {
				xi := x[i*k : i*k+k]
				di := dst[i*w.Rows+r0 : i*w.Rows+r0+nr]
				for r := range di {
					di[r] = Dot(xi, buf[r*k:r*k+k])
				}
			}
		}
	})
}
