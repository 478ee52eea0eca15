//go:build amd64 && !purego

package kernels

// Implemented in fmapeak_amd64.s: the FMA loop BenchmarkFMAPeak times, the
// per-core peak the matrix products are measured against.

//go:noescape
func fmaPeakAVX2(n int) float32

// fmaPeakFlops is the flops of one iteration of fmaPeakAVX2.
const fmaPeakFlops = 12 * 8 * 2
