package llama_test

import (
	"runtime"
	"testing"

	"github.com/sinkscope/sinkscope/model"
)

// TestForwardGarbage: once its buffers exist, a forward pass leaves almost
// no garbage: the matrix products hand their tasks to persistent goroutines
// and the attention's small products run on the caller's stack, so what is
// left is a few small records per matrix product (2 layers here: 37
// allocations, 5–7 kB; a goroutine per task and a closure per attention block
// made 267 allocations, 67 kB besides the logits). The bound leaves room for
// the runtime's own noise and catches a return of either.
func TestForwardGarbage(t *testing.T) {
	dir := t.TempDir()
	tiny{arch: "LlamaForCausalLM", d: 256, layers: 2, heads: 4, kv: 4, dh: 64, inter: 512, vocab: 1000}.write(t, dir, 2)
	m, _ := open(t, dir)
	ids := make([]int, 200)
	for i := range ids {
		ids[i] = i
	}
	bm := m.(model.Batcher)
	pass := func() {
		if err := bm.ForwardBatch([][]int{ids}, nil, func(int, int, []float32) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	pass()
	allocs := testing.AllocsPerRun(10, pass)
	// AllocsPerRun runs with GOMAXPROCS 1; the first pass after it grows
	// the buffers to the restored thread count, once.
	pass()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 10
	for range n {
		pass()
	}
	runtime.ReadMemStats(&after)
	bytes := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("per pass: %.0f allocations, %.0f bytes", allocs, bytes)
	if allocs > 100 || bytes > 32<<10 {
		t.Errorf("per pass: %.0f allocations, %.0f bytes; want at most 100 and 32 kB", allocs, bytes)
	}
}
