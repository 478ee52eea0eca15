package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// transposeWeight returns w (not transposed) stored as its transpose,
// [Cols][Rows], with Transposed set: the same logical matrix.
func transposeWeight(w Weight) Weight {
	sz := w.DType.Size()
	data := make([]byte, len(w.Data))
	for r := 0; r < w.Rows; r++ {
		for c := 0; c < w.Cols; c++ {
			copy(data[(c*w.Rows+r)*sz:(c*w.Rows+r+1)*sz], w.Data[(r*w.Cols+c)*sz:])
		}
	}
	return Weight{DType: w.DType, Rows: w.Rows, Cols: w.Cols, Data: data, Transposed: true}
}

// sameBits fails t unless got and want are equal bit for bit.
func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: element %d = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestMatMulTTransposed checks that a transposed weight gives the bits of
// the same matrix stored untransposed, for every kernel set, dtype and
// thread count, with f32 weights both read in place and copied, and with
// other blockings (small blocks and several passes over x; ragged blocks of
// the converted transposed weight).
func TestMatMulTTransposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 21))
	sizes := []struct{ n, rows, cols int }{
		{1, 1, 1}, {1, 13, 7}, {5, 25, 300}, {33, 12, 256}, {33, 50, 513},
		{300, 37, 70}, {5, 130, 600}, {1, 200, 1030}, {300, 100, 270},
	}
	copied := mtDefault
	copied.copyF32 = true
	params := []mtParams{mtDefault, copied, {kc: 64, mc: 32, nc: 24}, {kc: 256, mc: 256, nc: 96, tkc: 100, tnc: 36}}
	for _, ks := range allKernels() {
		for _, dt := range []DType{F32, BF16, F16} {
			for _, sz := range sizes {
				w, _ := randWeight(rng, dt, sz.rows, sz.cols)
				wt := transposeWeight(w)
				x := randSlice(rng, sz.n*sz.cols)
				for _, threads := range []int{1, 2} {
					for _, prm := range params {
						if prm.copyF32 && dt != F32 {
							continue
						}
						name := fmt.Sprintf("%s/%v/n%d_r%d_c%d/t%d/%+v", ks.name, dt, sz.n, sz.rows, sz.cols, threads, prm)
						want := make([]float32, sz.n*sz.rows)
						matMulTParams(ks, prm, want, x, sz.n, w, threads)
						got := make([]float32, sz.n*sz.rows+1)
						got[len(got)-1] = 42 // guard: must stay untouched
						matMulTParams(ks, prm, got, x, sz.n, wt, threads)
						if got[len(got)-1] != 42 {
							t.Fatalf("%s: MatMulT wrote past n*Rows", name)
						}
						sameBits(t, name, got[:len(want)], want)
					}
				}
			}
		}
	}
}

func TestWeightRowTransposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 23))
	for _, dt := range []DType{F32, F16, BF16} {
		const rows, cols = 9, 14
		w, wv := randWeight(rng, dt, rows, cols)
		wt := transposeWeight(w)
		row := make([]float32, cols+1)
		for r := 0; r < rows; r++ {
			row[cols] = 42
			wt.Row(r, row)
			sameBits(t, fmt.Sprintf("%v Row(%d)", dt, r), row[:cols], wv[r*cols:(r+1)*cols])
			if row[cols] != 42 {
				t.Fatalf("%v: Row wrote past Cols", dt)
			}
		}
	}
}

// TestWeightRowRange checks that views of row ranges, of plain and
// transposed weights and of views again, multiply and read rows like a
// weight holding just those rows, and that a plain view shares its bytes.
func TestWeightRowRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 25))
	const rows, cols, n = 70, 45, 5
	ranges := []struct{ r0, r1 int }{{0, rows}, {0, 1}, {13, 37}, {69, 70}, {24, 60}, {30, 30}}
	for _, ks := range allKernels() {
		for _, dt := range []DType{F32, BF16, F16} {
			w, wv := randWeight(rng, dt, rows, cols)
			wt := transposeWeight(w)
			x := randSlice(rng, n*cols)
			sz := dt.Size()
			for _, rg := range ranges {
				nr := rg.r1 - rg.r0
				// The reference: a weight holding just the rows.
				ref := Weight{DType: dt, Rows: nr, Cols: cols, Data: append([]byte(nil), w.Data[rg.r0*cols*sz:rg.r1*cols*sz]...)}
				want := make([]float32, n*nr)
				matMulT(ks, want, x, n, ref, 2)
				// Views, and views of a view (rows [2, nr-1) of the range),
				// with the parent row of their row 0 and their row count.
				type view struct {
					name      string
					w         Weight
					off, rows int
				}
				views := []view{
					{"plain", w.RowRange(rg.r0, rg.r1), rg.r0, nr},
					{"transposed", wt.RowRange(rg.r0, rg.r1), rg.r0, nr},
				}
				if nr >= 3 {
					views = append(views,
						view{"plain/sub", w.RowRange(rg.r0+2, rg.r1).RowRange(0, nr-3), rg.r0 + 2, nr - 3},
						view{"transposed/sub", wt.RowRange(rg.r0+2, rg.r1).RowRange(0, nr-3), rg.r0 + 2, nr - 3})
				}
				for _, vw := range views {
					v, off := vw.w, vw.off
					name := fmt.Sprintf("%s/%v/[%d,%d)/%s", ks.name, dt, rg.r0, rg.r1, vw.name)
					if v.Rows != vw.rows || v.Cols != cols || v.DType != dt {
						t.Fatalf("%s: view is %d×%d %v", name, v.Rows, v.Cols, v.DType)
					}
					got := make([]float32, n*v.Rows)
					matMulT(ks, got, x, n, v, 2)
					// Output row j of the view is output row off-r0+j of want.
					for i := 0; i < n; i++ {
						sameBits(t, name, got[i*v.Rows:(i+1)*v.Rows], want[i*nr+off-rg.r0:i*nr+off-rg.r0+v.Rows])
					}
					row := make([]float32, cols)
					for r := 0; r < v.Rows; r++ {
						v.Row(r, row)
						sameBits(t, fmt.Sprintf("%s Row(%d)", name, r), row, wv[(off+r)*cols:(off+r+1)*cols])
					}
				}
			}
			// A plain view is a window of the same bytes.
			v := w.RowRange(13, 37)
			if len(v.Data) != 24*cols*sz || unsafe.SliceData(v.Data) != &w.Data[13*cols*sz] {
				t.Fatalf("%v: RowRange(13, 37) does not view the parent's rows", dt)
			}
		}
	}
}

func TestWeightRowRangePanics(t *testing.T) {
	w, _ := randWeight(rand.New(rand.NewPCG(26, 27)), BF16, 4, 3)
	for _, tr := range []bool{false, true} {
		w.Transposed = tr
		for _, rg := range [][2]int{{-1, 2}, {3, 2}, {0, 5}} {
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("Transposed=%v: RowRange(%d, %d) did not panic", tr, rg[0], rg[1])
					}
				}()
				w.RowRange(rg[0], rg[1])
			}()
		}
	}
}
