//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkFMAPeak measures this machine's single-precision FMA peak, the
// yardstick of the GEMM's efficiency: independent chains of 8-lane AVX2
// FMAs (and of 16-lane AVX-512 FMAs where the CPU has them) on each of 1 and
// 2 goroutines (one per core), reporting GFLOP/s per wall-clock second and
// per CPU-second (on a shared machine the second is what a core delivers
// while it runs the loop). Compare a kernel path with the peak of its own
// vector width.
func BenchmarkFMAPeak(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2+FMA")
	}
	const iters = 1 << 20
	type loop struct {
		name  string
		fn    func(int) float32
		flops float64
	}
	loops := []loop{{"avx2", fmaPeakAVX2, fmaPeakAVX2Flops}}
	if hasAVX512 {
		loops = append(loops, loop{"avx512", fmaPeakAVX512, fmaPeakAVX512Flops})
	}
	for _, l := range loops {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", l.name, threads), func(b *testing.B) {
				cpu0 := cpuTime()
				var sink float32
				for b.Loop() {
					var wg sync.WaitGroup
					out := make([]float32, threads)
					for g := range threads {
						wg.Add(1)
						go func() {
							defer wg.Done()
							out[g] = l.fn(iters)
						}()
					}
					wg.Wait()
					sink += out[0]
				}
				_ = sink
				reportGFLOPS(b, float64(threads)*iters*l.flops, cpuTime()-cpu0)
			})
		}
	}
}
