//go:build linux

package llama_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestMemory runs one forward pass (T = 128) on a big checkpoint and checks
// that the process's peak RSS stays below 1.3 × the weight bytes + 1 GB:
// weights are read from the memory map in their stored dtype, never copied to
// float32 as a whole. Opt-in, because the checkpoint is big: set
// SINKSCOPE_MEMORY_CKPT to a directory such as the output of
// ../shared/bench/synth_checkpoint.py --preset llama2-7b --layers 2 --dtype bf16.
func TestMemory(t *testing.T) {
	dir := os.Getenv("SINKSCOPE_MEMORY_CKPT")
	if dir == "" {
		t.Skip("set SINKSCOPE_MEMORY_CKPT to a big checkpoint directory to run")
	}
	var size int64
	files, _ := filepath.Glob(filepath.Join(dir, "*.safetensors"))
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
	}
	m, _ := open(t, dir)
	rng := rand.New(rand.NewPCG(0, 0))
	ids := make([]int, 128)
	for i := range ids {
		ids[i] = rng.IntN(m.Info().Vocab)
	}
	if _, err := m.Forward(ids, nil); err != nil {
		t.Fatal(err)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	peak := ru.Maxrss * 1024 // kB on Linux
	limit := int64(1.3*float64(size)) + 1<<30
	t.Logf("weights %d bytes (%.0f MB), peak RSS %.0f MB, limit %.0f MB", size, float64(size)/1e6, float64(peak)/1e6, float64(limit)/1e6)
	if peak > limit {
		t.Errorf("peak RSS %d bytes exceeds 1.3 × %d + 1 GB = %d", peak, size, limit)
	}
}
