//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Implemented in microkernel_amd64.s.

//go:noescape
func kernelAVX512(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool)

//go:noescape
func kernelAVX512x16(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool)

//go:noescape
func prefetchRows(p unsafe.Pointer, stride uintptr, rows, nbytes int)

//go:noescape
func dotAVX512(a, b *float32, n int) float32

//go:noescape
func axpyAVX512(alpha float32, x, y *float32, n int)

//go:noescape
func cvtBF16AVX512(dst *float32, src *byte, n int)

//go:noescape
func cvtF16AVX512(dst *float32, src *byte, n int)

// avx512Kernels uses AVX-512F: all 32 vector registers, 24 of them
// accumulators.
var avx512Kernels = kernelSet{
	name:      "avx512",
	kernel:    kernelAVX512,
	kernel16:  kernelAVX512x16,
	kernel8:   kernel12x8AVX2, // AVX-512 CPUs have AVX2 and FMA
	cvtBF16:   convertBF16AVX512,
	cvtF16:    convertF16AVX512,
	prefetch:  prefetchRows,
	dot:       dotAVX512Slices,
	axpy:      axpyAVX512Slices,
	softmax:   softmaxAVX512,
	softcap:   softcapAVX512,
	attnRow:   attnRowAVX512Slices,
	max:       maxAVX512Slice,
	directF32: true,
}

// hasAVX512 is fixed at start-up: the CPU and the OS (saved ZMM state)
// support AVX-512F.
var hasAVX512 = cpu.X86.HasAVX512F

// bestKernels returns the fastest implementation this CPU supports.
func bestKernels() *kernelSet {
	switch {
	case hasAVX512:
		return &avx512Kernels
	case hasAVX2:
		return &avx2Kernels
	}
	return &goKernels
}

// allKernels lists the implementations usable on this CPU, for tests.
func allKernels() []*kernelSet {
	ks := []*kernelSet{&goKernels}
	if hasAVX2 {
		ks = append(ks, &avx2Kernels)
	}
	if hasAVX512 {
		ks = append(ks, &avx512Kernels)
	}
	return ks
}

func convertBF16AVX512(dst []float32, src []byte) {
	n := len(dst) &^ 15
	if n > 0 {
		_ = src[2*n-1]
		cvtBF16AVX512(&dst[0], &src[0], n)
	}
	convertBF16Generic(dst[n:], src[2*n:])
}

func convertF16AVX512(dst []float32, src []byte) {
	n := len(dst) &^ 15
	if n > 0 {
		_ = src[2*n-1]
		cvtF16AVX512(&dst[0], &src[0], n)
	}
	convertF16Generic(dst[n:], src[2*n:])
}

func convertBF16(dst []float32, src []byte) { bestKernels().cvtBF16(dst, src) }
func convertF16(dst []float32, src []byte)  { bestKernels().cvtF16(dst, src) }

func dotAVX512Slices(a, b []float32) float32 {
	b = b[:len(a)]
	n := len(a) &^ 15
	var s float32
	if n > 0 {
		s = dotAVX512(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

func axpyAVX512Slices(alpha float32, x, y []float32) {
	y = y[:len(x)]
	n := len(x) &^ 15
	if n > 0 {
		axpyAVX512(alpha, &x[0], &y[0], n)
	}
	for i := n; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}
