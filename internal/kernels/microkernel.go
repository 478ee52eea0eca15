package kernels

import "unsafe"

// The blocked products (MatMulT, Gemm) are built on one microkernel that
// updates a tile of 12 rows × 32 columns held in registers:
//
//	acc[r][c] = acc[r][c] + Σ_{p<kc} a[r][p] · b[p][c]     r < tileR, c < tileC
//
// with acc[r][c] taken as 0 when zero is set (a first k block needs no
// cleared tile).
//
// The a side is read one scalar at a time (broadcast), at byte offset
// r·ar + p·ap from its base, so the same kernel reads a panel whose rows are
// contiguous in p (ap = 4) or a transposed operand (ar = 4). The b side is
// read as 32-float vectors, row p at byte offset p·ldb. acc rows are ldc
// bytes apart.
const (
	tileR = 12
	tileC = 32
)

// microkernel is the signature every implementation of the tile update has.
//
// a is an unsafe.Pointer because it may point straight into the bytes of
// an f32 weight, which need not be 4-byte aligned.
type microkernel func(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool)

// kernelSet is one implementation of the inner loops: the portable Go code,
// or assembly selected at run time from the CPU's features.
type kernelSet struct {
	name     string
	kernel   microkernel
	kernel16 microkernel                     // the same for a 12×16 tile (columns 0..15 only)
	kernel8  microkernel                     // and for a 12×8 tile
	cvtBF16  func(dst []float32, src []byte) // len(dst) elements
	cvtF16   func(dst []float32, src []byte)
	// prefetch asks for rows×nbytes bytes at p (rows stride bytes apart)
	// to be brought into cache; nil when not implemented.
	prefetch  func(p unsafe.Pointer, stride uintptr, rows, nbytes int)
	dot       func(a, b []float32) float32        // Σ a[i]·b[i], len(a) terms
	axpy      func(alpha float32, x, y []float32) // y += alpha·x, len(x) terms
	softmax   func(dst, src []float32)            // dst may be src
	softcap   func(x []float32, c float32)        // x = c·tanh(x/c)
	attnRow   func(mass, colT []float64, a, sc []float32, c float64) (z, t, m float64)
	max       func(x []float32) float32 // len(x) > 0
	directF32 bool                      // kernel may read unaligned f32 weight bytes
}

// goKernels is the portable implementation, used where no assembly applies.
var goKernels = kernelSet{
	name:     "go",
	kernel:   kernelGo,
	kernel16: kernelGo16,
	kernel8:  kernelGo8,
	cvtBF16:  convertBF16Generic,
	cvtF16:   convertF16Generic,
	dot:      dotGo,
	axpy:     axpyGo,
	softmax:  softmaxGo,
	softcap:  softcapGo,
	attnRow:  attnRowGo,
	max:      maxGo,
}

// kernelGo16 is kernelGo on a 12×16 tile.
func kernelGo16(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool) {
	for r := 0; r < tileR; r++ {
		row := (*[tileC / 2]float32)(unsafe.Add(unsafe.Pointer(acc), uintptr(r)*ldc))
		t := *row
		if zero {
			clear(t[:])
		}
		for p := 0; p < kc; p++ {
			av := *(*float32)(unsafe.Add(a, uintptr(r)*ar+uintptr(p)*ap))
			bv := (*[tileC / 2]float32)(unsafe.Add(unsafe.Pointer(b), uintptr(p)*ldb))
			for c := range t {
				t[c] += av * bv[c]
			}
		}
		*row = t
	}
}

// kernelGo8 is kernelGo on a 12×8 tile.
func kernelGo8(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool) {
	for r := 0; r < tileR; r++ {
		row := (*[tileC / 4]float32)(unsafe.Add(unsafe.Pointer(acc), uintptr(r)*ldc))
		t := *row
		if zero {
			clear(t[:])
		}
		for p := 0; p < kc; p++ {
			av := *(*float32)(unsafe.Add(a, uintptr(r)*ar+uintptr(p)*ap))
			bv := (*[tileC / 4]float32)(unsafe.Add(unsafe.Pointer(b), uintptr(p)*ldb))
			for c := range t {
				t[c] += av * bv[c]
			}
		}
		*row = t
	}
}

// kernelGo is the portable microkernel. (Addresses are formed only for
// elements that are read, as checkptr requires.)
func kernelGo(acc *float32, ldc uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, ldb uintptr, kc int, zero bool) {
	for r := 0; r < tileR; r++ {
		row := (*[tileC]float32)(unsafe.Add(unsafe.Pointer(acc), uintptr(r)*ldc))
		t := *row
		if zero {
			clear(t[:])
		}
		for p := 0; p < kc; p++ {
			av := *(*float32)(unsafe.Add(a, uintptr(r)*ar+uintptr(p)*ap))
			bv := (*[tileC]float32)(unsafe.Add(unsafe.Pointer(b), uintptr(p)*ldb))
			for c := range t {
				t[c] += av * bv[c]
			}
		}
		*row = t
	}
}
