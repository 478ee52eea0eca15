package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// BenchmarkMicrokernel measures the 12×32 tile update alone, with every
// operand in L1 (kc = 256), as an upper bound for the blocked products.
func BenchmarkMicrokernel(b *testing.B) {
	const kc = 256
	for _, ks := range allKernels() {
		b.Run(ks.name, func(b *testing.B) {
			a := make([]float32, tileR*kc)
			bb := make([]float32, kc*tileC)
			acc := make([]float32, tileR*tileC)
			for i := range a {
				a[i] = 1e-3
			}
			for i := range bb {
				bb[i] = 1e-3
			}
			cpu0 := cpuTime()
			for b.Loop() {
				ks.kernel(&acc[0], 4*tileC, unsafe.Pointer(&a[0]), 4*kc, 4, &bb[0], 4*tileC, kc, false)
			}
			flops := 2 * float64(tileR*tileC*kc)
			reportGFLOPS(b, flops, cpuTime()-cpu0)
		})
	}
}

// BenchmarkMatMulTParams compares blocking choices for MatMulT on the 7B
// projection shape (bf16, one thread), interleaved so that each sees the
// same machine load.
func BenchmarkMatMulTParams(b *testing.B) {
	const n, rows, cols = 128, 4096, 4096
	rng := rand.New(rand.NewPCG(1, 1))
	w, _ := randWeight(rng, BF16, rows, cols)
	x := randSlice(rng, n*cols)
	dst := make([]float32, n*rows)
	params := []mtParams{
		{kc: 256, mc: 256, nc: 96},
		{kc: 128, mc: 256, nc: 96},
		{kc: 512, mc: 256, nc: 96},
		{kc: 512, mc: 128, nc: 96},
		{kc: 384, mc: 256, nc: 48},
	}
	for round := 0; round < 3; round++ {
		for _, prm := range params {
			b.Run(fmt.Sprintf("kc%d_mc%d_nc%d/r%d", prm.kc, prm.mc, prm.nc, round), func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					matMulTParams(bestKernels(), prm, dst, x, n, w, 1)
				}
				reportGFLOPS(b, 2*n*rows*cols, cpuTime()-cpu0)
			})
		}
	}
}

// BenchmarkMatMulTF32Direct compares reading f32 weights in place with
// copying 12-row panels (one thread), interleaved.
func BenchmarkMatMulTF32Direct(b *testing.B) {
	const n, rows, cols = 128, 4096, 4096
	rng := rand.New(rand.NewPCG(1, 1))
	w, _ := randWeight(rng, F32, rows, cols)
	x := randSlice(rng, n*cols)
	dst := make([]float32, n*rows)
	for round := 0; round < 3; round++ {
		for _, cp := range []bool{false, true} {
			prm := mtDefault
			prm.copyF32 = cp
			b.Run(fmt.Sprintf("copy%v/r%d", cp, round), func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					matMulTParams(bestKernels(), prm, dst, x, n, w, 1)
				}
				reportGFLOPS(b, 2*n*rows*cols, cpuTime()-cpu0)
			})
		}
	}
}
