package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkMatMulT measures y = x·Wᵀ for the shapes of a 7B Llama's
// projections at T = 128 (n × Cols · (Rows × Cols)ᵀ: q/k/v/o 4096×4096, gate
// and up 11008×4096, down 4096×11008), and of q at 1 and 16 tokens, and
// reports GFLOP/s (2·n·Rows·Cols per op); BenchmarkFMAPeak is the yardstick.
func BenchmarkMatMulT(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	type key struct {
		dt         DType
		rows, cols int
	}
	weights := map[key]Weight{}
	shapes := []struct{ n, rows, cols int }{{128, 4096, 4096}, {128, 11008, 4096}, {128, 4096, 11008}, {1, 4096, 4096}, {16, 4096, 4096}}
	for _, sh := range shapes {
		for _, dt := range []DType{BF16, F32, F16} {
			k := key{dt, sh.rows, sh.cols}
			if _, ok := weights[k]; !ok {
				weights[k], _ = randWeight(rng, dt, sh.rows, sh.cols)
			}
			w := weights[k]
			x := randSlice(rng, sh.n*sh.cols)
			dst := make([]float32, sh.n*sh.rows)
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%dx%dx%d/%v/t%d", sh.n, sh.rows, sh.cols, dt, threads), func(b *testing.B) {
					cpu0 := cpuTime()
					for b.Loop() {
						MatMulT(dst, x, sh.n, w, threads)
					}
					flops := 2 * float64(sh.n) * float64(sh.rows) * float64(sh.cols)
					reportGFLOPS(b, flops, cpuTime()-cpu0)
				})
			}
		}
	}
}

// BenchmarkMatMulTTransposed compares a weight stored [Rows][Cols] with the
// same weight stored transposed (GPT-2's Conv1D layout, [in, out]) on the
// shape of GPT-2's MLP down projection at T = 128, side by side.
func BenchmarkMatMulTTransposed(b *testing.B) {
	const n, rows, cols = 128, 768, 3072
	rng := rand.New(rand.NewPCG(4, 4))
	x := randSlice(rng, n*cols)
	dst := make([]float32, n*rows)
	for _, dt := range []DType{BF16, F32} {
		w, _ := randWeight(rng, dt, rows, cols)
		wt := transposeWeight(w)
		for _, threads := range []int{1, 2} {
			for _, v := range []struct {
				name string
				w    Weight
			}{{"plain", w}, {"transposed", wt}} {
				b.Run(fmt.Sprintf("%dx%dx%d/%v/%s/t%d", n, rows, cols, dt, v.name, threads), func(b *testing.B) {
					cpu0 := cpuTime()
					for b.Loop() {
						MatMulT(dst, x, n, v.w, threads)
					}
					reportGFLOPS(b, 2*n*rows*cols, cpuTime()-cpu0)
				})
			}
		}
	}
}

// BenchmarkGemm measures the small products of the Bigram-Backcopy training
// loop: a [16384×64]·[64×64] projection (and its transposed backward forms)
// and one attention head's [256×64]·[64×256] scores.
func BenchmarkGemm(b *testing.B) {
	shapes := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"proj_NN_16384x64x64", false, false, 16384, 64, 64},
		{"proj_NT_16384x64x64", false, true, 16384, 64, 64},
		{"gradW_TN_64x64x16384", true, false, 64, 64, 16384},
		{"scores_NT_256x256x64", false, true, 256, 256, 64},
		{"av_NN_256x64x256", false, false, 256, 64, 256},
		{"seq_NN_256x64x64", false, false, 256, 64, 64},
		{"seq_NT_256x64x64", false, true, 256, 64, 64},
		{"seqW_TN_64x64x256", true, false, 64, 64, 256},
	}
	rng := rand.New(rand.NewPCG(2, 2))
	for _, sh := range shapes {
		lda, ldb := sh.k, sh.n
		if sh.transA {
			lda = sh.m
		}
		if sh.transB {
			ldb = sh.k
		}
		a := randSlice(rng, sh.m*sh.k)
		bb := randSlice(rng, sh.k*sh.n)
		c := make([]float32, sh.m*sh.n)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", sh.name, threads), func(b *testing.B) {
				cpu0 := cpuTime()
				for b.Loop() {
					Gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, a, lda, bb, ldb, 0, c, sh.n, threads)
				}
				flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
				reportGFLOPS(b, flops, cpuTime()-cpu0)
			})
		}
	}
}

// reportGFLOPS reports the rate of b's loop (flops per op) per wall-clock
// second ("GFLOP/s") and per CPU-second of the process ("GFLOP/cpu-s"): on
// a busy machine the second is closer to what the code does when it has
// the cores (for t2, twice it is the two-core rate without waiting).
func reportGFLOPS(b *testing.B, flops float64, cpu time.Duration) {
	total := flops * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(total/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
}

// BenchmarkSoftmax measures one attention row of 4096 scores, the second
// half masked (-Inf) as in causal attention; the row is restored from a
// template by a copy each time.
func BenchmarkSoftmax(b *testing.B) {
	const n = 4096
	tmpl := make([]float32, n)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range tmpl {
		tmpl[i] = float32(rng.NormFloat64() * 4)
		if i >= n/2 {
			tmpl[i] = float32(math.Inf(-1))
		}
	}
	x := make([]float32, n)
	for _, ks := range allKernels() {
		b.Run(ks.name, func(b *testing.B) {
			for b.Loop() {
				copy(x, tmpl)
				ks.softmax(x, x)
			}
			b.ReportMetric(float64(n/2)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gexp/s")
		})
	}
}

// BenchmarkGemmPacked measures the two products of one head's query block
// in the blocked attention at T = 4,096, with the keys and values packed
// (PackB) and the operands laid out as in the model: scores
// [64×128]·[128×4096] with the queries 32 heads of 128 apart, and the
// weighted sum [64×4096]·[4096×128] into z, 32 heads apart.
func BenchmarkGemmPacked(b *testing.B) {
	const rows, T, dh, H = 96, 4096, 128, 32
	rng := rand.New(rand.NewPCG(5, 5))
	q := randSlice(rng, rows*H*dh)
	kv := randSlice(rng, T*H*dh)
	s := randSlice(rng, rows*T)
	z := make([]float32, rows*H*dh)
	keys := PackB(make([]float32, PackedBLen(T, dh)), true, 0.088, kv, H*dh, T, dh)
	values := PackB(make([]float32, PackedBLen(dh, T)), false, 1, kv, H*dh, dh, T)
	b.Run("scores", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			GemmPacked(false, rows, T, dh, q, H*dh, keys, 0, s, T, 1)
		}
		reportGFLOPS(b, 2*rows*T*dh, cpuTime()-cpu0)
	})
	b.Run("weighted_sum", func(b *testing.B) {
		cpu0 := cpuTime()
		for b.Loop() {
			GemmPacked(false, rows, dh, T, s, T, values, 0, z, H*dh, 1)
		}
		reportGFLOPS(b, 2*rows*T*dh, cpuTime()-cpu0)
	})
}
