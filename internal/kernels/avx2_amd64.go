//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Implemented in avx2_amd64.s.

//go:noescape
func kernel6x16AVX2(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool)

//go:noescape
func kernel12x8AVX2(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool)

//go:noescape
func cvtBF16AVX2(dst *float32, src *byte, n int)

//go:noescape
func cvtF16F16C(dst *float32, src *byte, n int)

// avx2Kernels is for x86-64 CPUs with AVX2 and FMA but no AVX-512: the
// 12×32 tile is done as four 6×16 quarters (16 vector registers).
var avx2Kernels = kernelSet{
	name:     "avx2",
	kernel:   kernelAVX2,
	kernel16: kernelAVX2x16,
	kernel8:  kernel12x8AVX2,
	cvtBF16:  convertBF16AVX2,
	cvtF16:   convertF16F16C,
	prefetch: prefetchRows,
	dot:      dotGo,
	axpy:     axpyGo,
	softmax:  softmaxGo,
	softcap:  softcapGo,
	attnRow:  attnRowGo,
	max:      maxGo,
	// The kernel reads weights with unaligned loads, so f32 weights can be
	// used in place.
	directF32: true,
}

// hasAVX2 is fixed at start-up (F16C comes with every AVX2 CPU).
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C

func kernelAVX2(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool) {
	for r0 := uintptr(0); r0 < tileR; r0 += 6 {
		for c0 := uintptr(0); c0 < tileC; c0 += 16 {
			kernel6x16AVX2((*float32)(unsafe.Add(unsafe.Pointer(acc), r0*ldc+4*c0)), ldc,
				unsafe.Add(a, r0*ar), ar, ap, (*float32)(unsafe.Add(unsafe.Pointer(b), 4*c0)), ldb, kc, zero)
		}
	}
}

func kernelAVX2x16(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool) {
	kernel6x16AVX2(acc, ldc, a, ar, ap, b, ldb, kc, zero)
	kernel6x16AVX2((*float32)(unsafe.Add(unsafe.Pointer(acc), 6*ldc)), ldc, unsafe.Add(a, 6*ar), ar, ap, b, ldb, kc, zero)
}

func convertBF16AVX2(dst []float32, src []byte) {
	n := len(dst) &^ 7
	if n > 0 {
		_ = src[2*n-1]
		cvtBF16AVX2(&dst[0], &src[0], n)
	}
	convertBF16Generic(dst[n:], src[2*n:])
}

func convertF16F16C(dst []float32, src []byte) {
	n := len(dst) &^ 7
	if n > 0 {
		_ = src[2*n-1]
		cvtF16F16C(&dst[0], &src[0], n)
	}
	convertF16Generic(dst[n:], src[2*n:])
}
