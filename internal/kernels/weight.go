package kernels

import "unsafe"

// Weight is a row-major matrix [Rows][Cols] stored in its checkpoint dtype,
// usually a view into a memory-mapped file. Data holds Rows*Cols elements,
// little-endian.
type Weight struct {
	DType DType
	Rows  int
	Cols  int
	Data  []byte // [Rows][Cols] elements of DType
}

// F32Weight returns a Weight viewing w (len ≥ rows*cols) without copying.
// (Like the rest of the package it assumes a little-endian machine for
// float32 views.)
func F32Weight(rows, cols int, w []float32) Weight {
	n := rows * cols
	var data []byte
	if n > 0 {
		w = w[:n]
		data = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), 4*n)
	}
	return Weight{DType: F32, Rows: rows, Cols: cols, Data: data}
}

// Row writes row r of w as float32 into dst[:w.Cols].
func (w Weight) Row(r int, dst []float32) {
	sz := w.DType.Size()
	off := r * w.Cols * sz
	ToFloat32(dst[:w.Cols], w.Data[off:off+w.Cols*sz], w.DType)
}

// block converts rows [r0, r0+nr) and columns [c0, c0+nc) of w into dst,
// row-major with row stride ld, with the conversions of ks.
func (w Weight) block(ks *kernelSet, dst []float32, ld, r0, nr, c0, nc int) {
	sz := w.DType.Size()
	for r := 0; r < nr; r++ {
		off := ((r0+r)*w.Cols + c0) * sz
		d, src := dst[r*ld:r*ld+nc], w.Data[off:off+nc*sz]
		switch w.DType {
		case BF16:
			ks.cvtBF16(d, src)
		case F16:
			ks.cvtF16(d, src)
		default:
			ToFloat32(d, src, w.DType)
		}
	}
}
