package sinkscope_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
)

// Open a checkpoint directory (here a two-layer GPT-2 with zero weights,
// written on the spot), read its shape and quirks, and capture the first
// layer's attention pattern.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "gpt2")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	writeTinyGPT2(dir)

	m, ck, err := sinkscope.Open(dir, 1)
	if err != nil {
		log.Fatal(err)
	}
	defer ck.Close()
	in := m.Info()
	fmt.Printf("%s: %d layers × %d heads, d_model %d, vocab %d\n", in.Arch, in.Layers, in.Heads, in.DModel, in.Vocab)
	for _, q := range m.(model.Describer).Quirks() {
		if q.Name == "positions" || q.Name == "head" {
			fmt.Printf("%s: %s\n", q.Name, q.Value)
		}
	}

	var hs hooks.Set
	cache := hooks.Cache{}
	cache.Capture(&hs, hooks.At(0, hooks.Pattern))
	if _, err := m.Forward([]int{3, 1, 4}, &hs); err != nil {
		log.Fatal(err)
	}
	pat := cache[hooks.At(0, hooks.Pattern)] // [heads, T, T]
	fmt.Println("pattern", pat.Shape, "last query's row:", pat.Data[6:9])
	// Output:
	// GPT2LMHeadModel: 2 layers × 2 heads, d_model 8, vocab 10
	// positions: learned absolute positions (16)
	// head: tied to the token embedding
	// pattern [2 3 3] last query's row: [0.33333334 0.33333334 0.33333334]
}

// writeTinyGPT2 writes config.json and model.safetensors of a GPT-2 with
// n_embd 8, 2 heads, 2 layers, vocab 10 and 16 positions, every weight zero
// and every LayerNorm weight one.
func writeTinyGPT2(dir string) {
	cfg := `{"architectures":["GPT2LMHeadModel"],"n_embd":8,"n_head":2,"n_layer":2,"n_positions":16,"vocab_size":10}`
	if err := os.WriteFile(filepath.Join(dir, loader.ConfigFile), []byte(cfg), 0o644); err != nil {
		log.Fatal(err)
	}
	var ws []loader.WriteTensor
	add := func(name string, fill float32, shape ...int) {
		n := 1
		for _, s := range shape {
			n *= s
		}
		data := make([]byte, 4*n)
		if fill == 1 {
			for i := 0; i < n; i++ {
				copy(data[4*i:], []byte{0, 0, 0x80, 0x3f}) // 1.0f little-endian
			}
		}
		ws = append(ws, loader.WriteTensor{Name: name, DType: loader.F32, Shape: shape, Data: data})
	}
	add("transformer.wte.weight", 0, 10, 8)
	add("transformer.wpe.weight", 0, 16, 8)
	for _, ln := range []string{"transformer.ln_f", "transformer.h.0.ln_1", "transformer.h.0.ln_2", "transformer.h.1.ln_1", "transformer.h.1.ln_2"} {
		add(ln+".weight", 1, 8)
		add(ln+".bias", 0, 8)
	}
	for l := range 2 {
		p := fmt.Sprintf("transformer.h.%d.", l)
		add(p+"attn.c_attn.weight", 0, 8, 24) // Conv1D: [in, out]
		add(p+"attn.c_attn.bias", 0, 24)
		add(p+"attn.c_proj.weight", 0, 8, 8)
		add(p+"attn.c_proj.bias", 0, 8)
		add(p+"mlp.c_fc.weight", 0, 8, 32)
		add(p+"mlp.c_fc.bias", 0, 32)
		add(p+"mlp.c_proj.weight", 0, 32, 8)
		add(p+"mlp.c_proj.bias", 0, 8)
	}
	if err := loader.WriteSafetensors(filepath.Join(dir, loader.WeightsFile), ws, nil); err != nil {
		log.Fatal(err)
	}
}
