package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

func TestF32ToBF16(t *testing.T) {
	tests := []struct {
		name string
		in   uint32 // float32 bits
		want uint16
	}{
		{"one", 0x3f800000, 0x3f80},
		{"minus two", 0xc0000000, 0xc000},
		{"neg zero", 0x80000000, 0x8000},
		{"below half rounds down", 0x3f807fff, 0x3f80},
		{"above half rounds up", 0x3f808001, 0x3f81},
		{"tie to even (down)", 0x3f808000, 0x3f80},
		{"tie to even (up)", 0x3f818000, 0x3f82},
		{"carry into exponent", 0x3fffffff, 0x4000},
		{"max float32 overflows to Inf", 0x7f7fffff, 0x7f80},
		{"largest that stays finite", 0x7f7f7fff, 0x7f7f},
		{"+Inf", 0x7f800000, 0x7f80},
		{"-Inf", 0xff800000, 0xff80},
		{"quiet NaN", 0x7fc00000, 0x7fc0},
		{"NaN with low payload stays NaN", 0x7f800001, 0x7fc0},
		{"negative NaN", 0xff800001, 0xffc0},
		{"smallest subnormal rounds to zero", 0x00000001, 0x0000},
		{"subnormal tie to even (down)", 0x00008000, 0x0000},
		{"subnormal tie to even (up)", 0x00018000, 0x0002},
		{"subnormal rounds up into normal", 0x007fffff, 0x0080},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := F32ToBF16(math.Float32frombits(tt.in)); got != tt.want {
				t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
}

// TestBF16RoundTrip checks every bfloat16: widening is exact, so narrowing
// the result must give the same bits back (NaNs: some NaN).
func TestBF16RoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := BF16ToF32(uint16(h))
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16ToF32(%#04x) bits %#08x, want %#08x", h, math.Float32bits(f), uint32(h)<<16)
		}
		g := F32ToBF16(f)
		if f != f {
			if BF16ToF32(g) == BF16ToF32(g) {
				t.Fatalf("NaN %#04x came back as non-NaN %#04x", h, g)
			}
			continue
		}
		if g != uint16(h) {
			t.Fatalf("round trip %#04x -> %v -> %#04x", h, f, g)
		}
	}
}

func TestF16ToF32(t *testing.T) {
	tests := []struct {
		in   uint16
		want float64
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x3555, 0.333251953125},
		{0x7bff, 65504},
		{0x0400, math.Ldexp(1, -14)},    // smallest normal
		{0x0001, math.Ldexp(1, -24)},    // smallest subnormal
		{0x03ff, math.Ldexp(1023, -24)}, // largest subnormal
		{0x8001, -math.Ldexp(1, -24)},
		{0x7c00, math.Inf(1)},
		{0xfc00, math.Inf(-1)},
	}
	for _, tt := range tests {
		if got := F16ToF32(tt.in); float64(got) != tt.want {
			t.Errorf("F16ToF32(%#04x) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := F16ToF32(0x7e00); got == got {
		t.Errorf("F16ToF32(0x7e00) = %v, want NaN", got)
	}
	if got := math.Float32bits(F16ToF32(0x8000)); got != 0x80000000 {
		t.Errorf("F16ToF32(0x8000) bits %#08x, want -0", got)
	}
}

func TestF32ToF16(t *testing.T) {
	tests := []struct {
		name string
		in   float64 // exactly representable in float32
		want uint16
	}{
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"tenth", 0.1, 0x2e66},
		{"max finite", 65504, 0x7bff},
		{"just below the overflow tie", 65519.99609375, 0x7bff},
		{"overflow tie rounds to even = Inf", 65520, 0x7c00},
		{"huge", 1e10, 0x7c00},
		{"tie to even (down)", 1 + math.Ldexp(1, -11), 0x3c00},
		{"tie to even (up)", 1 + 3*math.Ldexp(1, -11), 0x3c02},
		{"smallest normal", math.Ldexp(1, -14), 0x0400},
		{"largest subnormal", math.Ldexp(1023, -24), 0x03ff},
		{"subnormal tie rounds up into normal", math.Ldexp(1023.5, -24), 0x0400},
		{"smallest subnormal", math.Ldexp(1, -24), 0x0001},
		{"half the smallest subnormal: tie to zero", math.Ldexp(1, -25), 0x0000},
		{"just above half rounds up", math.Ldexp(1+math.Ldexp(1, -20), -25), 0x0001},
		{"1.5 units: tie to 2", 3 * math.Ldexp(1, -25), 0x0002},
		{"tiny", 1e-10, 0x0000},
		{"negative tiny keeps sign", -1e-10, 0x8000},
		{"float32 subnormal", math.Ldexp(1, -140), 0x0000},
		{"-Inf", math.Inf(-1), 0xfc00},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := F32ToF16(float32(tt.in)); got != tt.want {
				t.Errorf("F32ToF16(%v) = %#04x, want %#04x", tt.in, got, tt.want)
			}
		})
	}
	if got := F32ToF16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("F32ToF16(NaN) = %#04x, want a NaN", got)
	}
	if got := F32ToF16(math.Float32frombits(0x7f800001)); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("F32ToF16(NaN with low payload) = %#04x, want a NaN", got)
	}
}

func TestF16RoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		g := F32ToF16(f)
		if f != f {
			if F16ToF32(g) == F16ToF32(g) {
				t.Fatalf("NaN %#04x came back as non-NaN %#04x", h, g)
			}
			continue
		}
		if g != uint16(h) {
			t.Fatalf("round trip %#04x -> %v -> %#04x", h, f, g)
		}
	}
}

// nearestF16 is an independent reference for F32ToF16 on finite values: it
// searches the sorted finite binary16 magnitudes for the two neighbours of
// |f| and picks the nearer one (ties: even encoding; beyond 65504 the
// tie point 65520 and above go to Inf), all in float64 where it is exact.
func nearestF16(f float32) uint16 {
	v := math.Abs(float64(f))
	var sign uint16
	if math.Signbit(float64(f)) {
		sign = 0x8000
	}
	if v >= 65520 {
		return sign | 0x7c00
	}
	lo, hi := 0, 0x7bff
	for lo < hi { // largest h with value(h) ≤ v
		mid := (lo + hi + 1) / 2
		if float64(F16ToF32(uint16(mid))) <= v {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0x7bff {
		return sign | 0x7bff
	}
	below, above := float64(F16ToF32(uint16(lo))), float64(F16ToF32(uint16(lo+1)))
	switch {
	case v-below < above-v:
		return sign | uint16(lo)
	case v-below > above-v:
		return sign | uint16(lo+1)
	case lo%2 == 0:
		return sign | uint16(lo)
	}
	return sign | uint16(lo+1)
}

func TestF32ToF16AgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	for i := 0; i < n; i++ {
		// Exponents concentrated around the binary16 range.
		bits := rng.Uint32()&0x807fffff | uint32(127-30+rng.IntN(50))<<23
		f := math.Float32frombits(bits)
		if got, want := F32ToF16(f), nearestF16(f); got != want {
			t.Fatalf("F32ToF16(%v = %#08x) = %#04x, reference %#04x", f, bits, got, want)
		}
	}
}

func TestToFloat32(t *testing.T) {
	vals := []float32{0, 1, -2.5, 0.1, 65504, float32(math.Inf(-1)), 1.5e-7, 3}
	for _, dt := range []DType{F32, F16, BF16} {
		t.Run(dt.String(), func(t *testing.T) {
			for _, n := range []int{0, 1, 7, 8, 16, 17, 33, 100} {
				src := make([]byte, n*dt.Size()+3) // spare bytes must be ignored
				want := make([]float32, n)
				for i := 0; i < n; i++ {
					v := vals[i%len(vals)] * float32(1+i/len(vals))
					switch dt {
					case F32:
						binary.LittleEndian.PutUint32(src[4*i:], math.Float32bits(v))
						want[i] = v
					case F16:
						h := F32ToF16(v)
						binary.LittleEndian.PutUint16(src[2*i:], h)
						want[i] = F16ToF32(h)
					case BF16:
						h := F32ToBF16(v)
						binary.LittleEndian.PutUint16(src[2*i:], h)
						want[i] = BF16ToF32(h)
					}
				}
				got := make([]float32, n)
				ToFloat32(got, src, dt)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("n=%d: element %d = %v, want %v", n, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func TestDTypeSizeString(t *testing.T) {
	tests := []struct {
		dt   DType
		size int
		name string
	}{{F32, 4, "F32"}, {F16, 2, "F16"}, {BF16, 2, "BF16"}, {DType(9), 0, "DType(9)"}}
	for _, tt := range tests {
		if tt.dt.Size() != tt.size || tt.dt.String() != tt.name {
			t.Errorf("DType %d: Size %d String %q, want %d %q", tt.dt, tt.dt.Size(), tt.dt.String(), tt.size, tt.name)
		}
	}
}

// TestConvertKernelsExhaustive widens every 16-bit pattern with every
// kernel set's vector conversion and compares with the scalar functions
// (bit for bit; NaNs need only stay NaNs, as hardware may quiet them).
func TestConvertKernelsExhaustive(t *testing.T) {
	src := make([]byte, 2*(1<<16)+2) // one extra element: an odd length leaves a tail
	for h := 0; h < 1<<16; h++ {
		binary.LittleEndian.PutUint16(src[2*h:], uint16(h))
	}
	binary.LittleEndian.PutUint16(src[2<<16:], 0x3c00)
	dst := make([]float32, 1<<16+1)
	for _, ks := range allKernels() {
		for _, c := range []struct {
			name   string
			cvt    func([]float32, []byte)
			scalar func(uint16) float32
		}{{"bf16", ks.cvtBF16, BF16ToF32}, {"f16", ks.cvtF16, F16ToF32}} {
			c.cvt(dst, src)
			for i, got := range dst {
				want := c.scalar(binary.LittleEndian.Uint16(src[2*i:]))
				if want != want {
					if got == got {
						t.Fatalf("%s %s: element %d (%#04x) = %v, want NaN", ks.name, c.name, i, i, got)
					}
					continue
				}
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Fatalf("%s %s: element %d = %v, want %v", ks.name, c.name, i, got, want)
				}
			}
		}
	}
}
