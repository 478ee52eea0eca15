package kernels

import "unsafe"

// Weight is a matrix [Rows][Cols] stored in its checkpoint dtype, usually a
// view into a memory-mapped file. Data holds Rows*Cols elements,
// little-endian, row-major: [Rows][Cols], or [Cols][Rows] when Transposed
// (except that a RowRange of a transposed weight views a strided window of
// its parent's Data).
type Weight struct {
	DType DType
	Rows  int
	Cols  int
	Data  []byte // [Rows][Cols] elements of DType; [Cols][Rows] when Transposed
	// Transposed says that Data holds the matrix's transpose, [Cols][Rows]
	// row-major (GPT-2's Conv1D stores its weight as [in, out]). Rows and
	// Cols still describe the logical matrix [Rows][Cols] that MatMulT
	// multiplies by (dst = x·wᵀ, dst [n][Rows], x [n][Cols]): logical
	// element (r, c) is storage element c·Rows + r. The methods of Weight
	// and MatMulT honour it; code that reads Data itself must check it.
	Transposed bool
	// stride is the length in elements of a storage row of a transposed
	// weight, when it is longer than Rows: a RowRange view of a transposed
	// weight keeps the parent's storage rows. 0 means Rows.
	stride int
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

// tstride returns the storage row length of a transposed weight, in
// elements: Rows, or the parent's Rows for a RowRange view.
func (w Weight) tstride() int {
	if w.stride > 0 {
		return w.stride
	}
	return w.Rows
}

// storageLen returns the number of elements of Data the matrix spans (the
// index of its last element plus one); 0 for an empty matrix.
func (w Weight) storageLen() int {
	if w.Rows <= 0 || w.Cols <= 0 {
		return 0
	}
	if w.Transposed {
		return (w.Cols-1)*w.tstride() + w.Rows
	}
	return w.Rows * w.Cols
}

// Row writes row r of w as float32 into dst[:w.Cols].
func (w Weight) Row(r int, dst []float32) {
	sz := w.DType.Size()
	if !w.Transposed {
		off := r * w.Cols * sz
		ToFloat32(dst[:w.Cols], w.Data[off:off+w.Cols*sz], w.DType)
		return
	}
	// Column r of the storage: one element per storage row.
	dst = dst[:w.Cols]
	if len(dst) == 0 {
		return
	}
	if r < 0 || r >= w.Rows {
		panic("kernels: Weight.Row: row " + itoa(r) + " out of range [0, " + itoa(w.Rows) + ")")
	}
	ld := w.tstride() * sz
	src := w.Data[r*sz : r*sz+(w.Cols-1)*ld+sz]
	for c := range dst {
		ToFloat32(dst[c:c+1], src[c*ld:], w.DType)
	}
}

// RowRange returns rows [r0, r1) of w ([r1-r0][Cols]) as a Weight viewing
// the same bytes, without copying: for example one projection of a fused
// qkv weight stored as blocks of rows. The view of a transposed weight keeps
// the parent's storage rows (its Data is not [Cols][r1-r0] but a strided
// window of the parent's), so it is only for the methods of Weight and
// MatMulT. RowRange panics unless 0 ≤ r0 ≤ r1 ≤ w.Rows.
func (w Weight) RowRange(r0, r1 int) Weight {
	if r0 < 0 || r1 < r0 || r1 > w.Rows {
		panic("kernels: Weight.RowRange: [" + itoa(r0) + ", " + itoa(r1) + ") out of range [0, " + itoa(w.Rows) + ")")
	}
	sz := w.DType.Size()
	v := w
	v.Rows = r1 - r0
	if !w.Transposed {
		v.Data = w.Data[r0*w.Cols*sz : r1*w.Cols*sz]
		return v
	}
	v.stride = w.tstride()
	if v.Rows == 0 || w.Cols == 0 {
		v.Data = w.Data[:0]
		return v
	}
	v.Data = w.Data[r0*sz : (r0+v.storageLen())*sz]
	return v
}

// block converts rows [r0, r0+nr) and columns [c0, c0+nc) of w into dst,
// row-major with row stride ld, with the conversions of ks. For a transposed
// weight nr must be at most tileR: logical column c0+p is storage row c0+p,
// whose elements [r0, r0+nr) are contiguous; each such run is converted into
// a small buffer and scattered down column p of dst.
func (w Weight) block(ks *kernelSet, dst []float32, ld, r0, nr, c0, nc int) {
	sz := w.DType.Size()
	if !w.Transposed {
		for r := 0; r < nr; r++ {
			off := ((r0+r)*w.Cols + c0) * sz
			w.convert(ks, dst[r*ld:r*ld+nc], w.Data[off:off+nc*sz])
		}
		return
	}
	if nr <= 0 || nc <= 0 {
		return
	}
	st := w.tstride() * sz
	var tmp [tileR]float32
	t := tmp[:nr]
	dst = dst[:(nr-1)*ld+nc]
	for p := 0; p < nc; p++ {
		off := (c0+p)*st + r0*sz
		w.convert(ks, t, w.Data[off:off+nr*sz])
		for r, v := range t {
			dst[r*ld+p] = v
		}
	}
}

// blockCols is block transposed, for a transposed weight: it converts rows
// [r0, r0+nr) and columns [c0, c0+nc) of w into dst column-major, column
// c0+p at dst[p*ld : p*ld+nr]. That is a contiguous run of each of nc
// storage rows, converted in one call each.
func (w Weight) blockCols(ks *kernelSet, dst []float32, ld, r0, nr, c0, nc int) {
	sz := w.DType.Size()
	st := w.tstride() * sz
	for p := 0; p < nc; p++ {
		off := (c0+p)*st + r0*sz
		w.convert(ks, dst[p*ld:p*ld+nr], w.Data[off:off+nr*sz])
	}
}

// convert widens len(d) elements of w's dtype from src into d.
func (w Weight) convert(ks *kernelSet, d []float32, src []byte) {
	switch w.DType {
	case BF16:
		ks.cvtBF16(d, src)
	case F16:
		ks.cvtF16(d, src)
	default:
		ToFloat32(d, src, w.DType)
	}
}
