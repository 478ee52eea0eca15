//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkFMAPeak measures this machine's single-precision FMA peak, the
// yardstick of the GEMM's efficiency: 12 independent chains of 8-lane AVX2
// FMAs on each of 1 and 2 goroutines (one per core), reporting GFLOP/s per
// wall-clock second and per CPU-second (on a shared machine the second is
// what a core delivers while it runs the loop).
func BenchmarkFMAPeak(b *testing.B) {
	if !hasAVX2 {
		b.Skip("no AVX2+FMA")
	}
	const iters = 1 << 20
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			cpu0 := cpuTime()
			var sink float32
			for b.Loop() {
				var wg sync.WaitGroup
				out := make([]float32, threads)
				for g := range threads {
					wg.Add(1)
					go func() {
						defer wg.Done()
						out[g] = fmaPeakAVX2(iters)
					}()
				}
				wg.Wait()
				sink += out[0]
			}
			_ = sink
			reportGFLOPS(b, float64(threads)*iters*fmaPeakFlops, cpuTime()-cpu0)
		})
	}
}
