package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// DType is the element type of stored weights.
type DType uint8

// The stored element types.
const (
	F32  DType = iota // IEEE 754 binary32
	F16               // IEEE 754 binary16
	BF16              // bfloat16: the upper 16 bits of a binary32
)

// Size returns the number of bytes of one element (0 for an unknown DType).
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	}
	return 0
}

// String returns the safetensors name of the dtype ("F32", "F16", "BF16").
func (d DType) String() string {
	switch d {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case BF16:
		return "BF16"
	}
	return "DType(" + itoa(int(d)) + ")"
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// BF16ToF32 widens a bfloat16 to float32 (exact).
func BF16ToF32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// F32ToBF16 rounds f to the nearest bfloat16, ties to even. NaNs stay NaNs
// (quiet, sign kept); values beyond the bfloat16 range round to ±Inf.
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: truncating could make it Inf
		return uint16(b>>16) | 0x0040
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// F16ToF32 widens an IEEE binary16 to float32 (exact, subnormals included).
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch exp {
	case 0:
		// Zero or subnormal: mant × 2^-24, exact in float32.
		f := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(f) | sign)
	case 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// F32ToF16 rounds f to the nearest IEEE binary16, ties to even, producing
// subnormals where needed. NaNs stay (quiet) NaNs; values beyond the range
// round to ±Inf.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased binary16 exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e >= 1 {
		// Normal: a mantissa carry moves into the exponent, and from
		// exponent 30 into the Inf encoding, as it should.
		return sign | uint16(uint32(e)<<10+shiftRNE(mant, 13))
	}
	// Subnormal binary16 (or zero): count units of 2^-24.
	// The float32 value is m × 2^(exp-150) with the implicit bit in m.
	m := mant | 0x800000
	if exp == 0 {
		m = mant
		exp = 1
	}
	s := uint(126 - exp) // ≥ 14
	if s > 24 {
		return sign
	}
	return sign | uint16(shiftRNE(m, s))
}

// shiftRNE returns m / 2^s rounded to nearest, ties to even (1 ≤ s ≤ 31).
func shiftRNE(m uint32, s uint) uint32 {
	q := m >> s
	r := m & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if r > half || (r == half && q&1 == 1) {
		q++
	}
	return q
}

// ToFloat32 converts len(dst) little-endian elements of type dt from src to
// float32. src must hold at least len(dst)*dt.Size() bytes.
func ToFloat32(dst []float32, src []byte, dt DType) {
	n := len(dst)
	if n == 0 {
		return
	}
	switch dt {
	case F32:
		src = src[:4*n]
		if isLittleEndian() {
			// The bytes are already float32s in memory order.
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*n), src)
			return
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case BF16:
		convertBF16(dst, src[:2*n])
	case F16:
		convertF16(dst, src[:2*n])
	default:
		panic("kernels: ToFloat32: unknown dtype " + dt.String())
	}
}

// isLittleEndian reports whether the machine stores multi-byte values
// little-endian (safetensors' byte order).
func isLittleEndian() bool {
	return binary.NativeEndian.Uint16([]byte{1, 0}) == 1
}

func convertBF16Generic(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

func convertF16Generic(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}
