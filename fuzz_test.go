package sinkscope

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/loader"
)

// FuzzFamilyConfig feeds mutated config.json files, next to a real
// checkpoint's weights, to every family: Open must either fail with an error
// or give a model whose forward pass returns logits or an error. It must
// never panic or hang. The seeds are the configs of every fixture family
// and of the built-in BB model.
func FuzzFamilyConfig(f *testing.F) {
	hf := fixtures.Path(f, "hf")
	names := []string{"stories260K_hf", "olmo_tiny", "olmo2_tiny", "pythia_tiny", "gpt2_tiny", "qwen2_tiny",
		"qwen3_tiny", "gemma_tiny", "gemma2_tiny", "gemma3_tiny", "phi3_tiny", "phi3_longrope_tiny"}
	dirs := map[string]string{"bbtoy": filepath.Join("bbtoy", "builtin")} // the built-in BB model
	for _, n := range names {
		dirs[n] = filepath.Join(hf, n)
	}
	names = append(names, "bbtoy")
	weights := map[string]string{}
	for i, n := range names {
		cfg, err := os.ReadFile(filepath.Join(dirs[n], loader.ConfigFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), cfg)
		if weights[n], err = filepath.Abs(filepath.Join(dirs[n], loader.WeightsFile)); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, cfg []byte) {
		dir := t.TempDir()
		n := names[int(which)%len(names)]
		if err := os.WriteFile(filepath.Join(dir, loader.ConfigFile), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(weights[n], filepath.Join(dir, loader.WeightsFile)); err != nil {
			t.Fatal(err)
		}
		m, ck, err := Open(dir, 1)
		if err != nil {
			return
		}
		defer ck.Close()
		if in := m.Info(); in.MaxSeqLen == 0 || in.MaxSeqLen >= 4 {
			m.Forward([]int{0, 1, 2, 3}[:min(4, max(1, in.Vocab))], nil)
		}
	})
}
