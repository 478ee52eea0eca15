//go:build amd64 && !purego

package kernels

import "math"

// Implemented in softmax_amd64.s.

//go:noescape
func expShiftAVX512(dst, src *float32, n int, shift float32) float32

//go:noescape
func maxAVX512(x *float32, n int) float32

//go:noescape
func scaleAVX512(x *float32, n int, s float32)

// Implemented in attnrow_amd64.s.

//go:noescape
func attnRowAVX512(mass, colT *float64, a, sc *float32, n int, c float64) (z, t, m float64)

func attnRowAVX512Slices(mass, colT []float64, a, sc []float32, c float64) (z, t, m float64) {
	return attnRowAVX512(&mass[0], &colT[0], &a[0], &sc[0], len(a), c)
}

func maxAVX512Slice(x []float32) float32 { return maxAVX512(&x[0], len(x)) }

// softmaxAVX512 is softmaxGo with the max, the exponentials (a vector expf,
// within 2 ulp of the correctly rounded value), the sum (in 16 lanes) and
// the scaling in assembly. Every element goes through the same vector code,
// ragged tails under a mask, so that a row's result depends only on its
// unmasked entries and their positions: a row of a query's keys gives the
// same bits as that row padded with −Inf (incremental decoding agrees
// with a full forward).
func softmaxAVX512(dst, src []float32) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	mx := maxAVX512(&src[0], len(src))
	if math.IsInf(float64(mx), -1) {
		clear(dst)
		return
	}
	sum := expShiftAVX512(&dst[0], &src[0], len(src), mx)
	scaleAVX512(&dst[0], len(dst), 1/sum)
}

// softcapAVX512 is softcapGo with the exponentials of tanh in the vector
// expf of softmaxAVX512, 256 elements at a time.
func softcapAVX512(x []float32, c float32) {
	var y, e [256]float32
	for off := 0; off < len(x); off += len(e) {
		blk := x[off:min(off+len(e), len(x))]
		for i, v := range blk {
			y[i] = v / c
			e[i] = -2 * math.Float32frombits(math.Float32bits(y[i])&^(1<<31)) // −2|y|
		}
		expShiftAVX512(&e[0], &e[0], len(blk), 0)
		for i := range blk {
			blk[i] = tanhFromExp(y[i], e[i]) * c
		}
	}
}
