package olmo_test

import (
	"fmt"
	"log"
	"path/filepath"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/olmo"
)

// Run the random OLMo-2 fixture and read the norm of layer 0's post-norm
// attention output at the first position. (Not run by go test: it needs the
// shared fixtures, which may be absent.)
func Example() {
	c, err := loader.Open(filepath.Join(fixtures.Dir(), "hf", "olmo2_tiny"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	m, err := olmo.New(c)
	if err != nil {
		log.Fatal(err)
	}
	var hs hooks.Set
	cache := hooks.Cache{}
	cache.Capture(&hs, hooks.At(0, hooks.AttnOut))
	if _, err := m.Forward([]int{1, 17, 254, 3}, &hs); err != nil {
		log.Fatal(err)
	}
	out := cache[hooks.At(0, hooks.AttnOut)] // [T, d_model], after post_attention_layernorm
	fmt.Println(m.Info().Arch, out.Shape)
}
