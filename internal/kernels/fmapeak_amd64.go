//go:build amd64 && !purego

package kernels

// Implemented in fmapeak_amd64.s: the FMA loop BenchmarkFMAPeak times, the
// per-core peak the matrix products are measured against.

//go:noescape
func fmaPeakAVX2(n int) float32

//go:noescape
func fmaPeakAVX512(n int) float32

// The flops of one iteration of fmaPeakAVX2 and of fmaPeakAVX512.
const (
	fmaPeakAVX2Flops   = 12 * 8 * 2
	fmaPeakAVX512Flops = 24 * 16 * 2
)
