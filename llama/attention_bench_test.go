package llama_test

import (
	"fmt"
	"testing"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/metrics"
)

// BenchmarkLongAttention measures the blocked attention of one layer with a
// Llama-2-7B-shaped attention (32 heads of 128; KV 32, or 8 as in Llama 3)
// at T = 4,096, bare ("forward") and with every analysis reducer of `heads`
// ("reducers": the streamed first_attn, attn_mass, dlogit, entropy and sink
// statistics, value and z norms). The checkpoint's width is 64, so the
// projections, MLP and logits cost about 7% of the attention's flops and the
// pass is the attention. "attn-GFLOP/s" counts only the attention's causal
// flops, 4·head_dim per query-key pair (scores and weighted sum) over
// T(T+1)/2 pairs per head, against the whole pass's time: a lower bound on
// the attention kernel's rate, to set beside BenchmarkMatMulT's (issue
// target: at least half of it).
func BenchmarkLongAttention(b *testing.B) {
	const T, d, H, dh = 4096, 64, 32, 128
	ids := make([]int, T)
	for i := range ids {
		ids[i] = (i*7919 + 13) % 256
	}
	attnFlops := 4 * dh * float64(H) * float64(T) * float64(T+1) / 2
	for _, kv := range []int{32, 8} {
		dir := b.TempDir()
		tiny{arch: "LlamaForCausalLM", d: d, layers: 1, heads: H, kv: kv, dh: dh, inter: d, vocab: 256,
			config: map[string]any{"max_position_embeddings": T}}.write(b, dir, 1)
		for _, threads := range []int{1, 2} {
			m, c, err := sinkscope.Open(dir, threads)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			b.Run(fmt.Sprintf("kv%d/forward/t%d", kv, threads), func(b *testing.B) {
				for b.Loop() {
					if _, err := m.Forward(ids, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(attnFlops*float64(b.N)/b.Elapsed().Seconds()/1e9, "attn-GFLOP/s")
			})
			b.Run(fmt.Sprintf("kv%d/reducers/t%d", kv, threads), func(b *testing.B) {
				acc, err := metrics.NewAccumulator(m, metrics.Options{})
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := acc.Add(metrics.Sequence{IDs: ids}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(attnFlops*float64(b.N)/b.Elapsed().Seconds()/1e9, "attn-GFLOP/s")
			})
		}
	}
}
