package llama_test

import (
	"fmt"
	"log"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/llama"
	"github.com/sinkscope/sinkscope/loader"
)

// Run stories260K on a prompt, keep layer 0's attention pattern and read
// how much the last query attends to the first token. (Not run by go test:
// it needs the shared fixtures, which may be absent. With them it prints
// "pattern shape: [8 5 5]", "head 0, last query -> key 0: 0.03" and
// "logits: 2560 = 5 x 512".)
func Example() {
	dir := fixtures.Dir()
	if dir == "" {
		fmt.Println("fixtures not found")
		return
	}
	c, err := loader.Open(dir + "/hf/stories260K_hf")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	m, err := llama.New(c)
	if err != nil {
		log.Fatal(err)
	}
	var hs hooks.Set
	cache := hooks.Cache{}
	cache.Capture(&hs, hooks.At(0, hooks.Pattern))
	ids := []int{1, 403, 407, 261, 378} // "<s> Once upon a time"
	logits, err := m.Forward(ids, &hs)
	if err != nil {
		log.Fatal(err)
	}
	pat := cache[hooks.At(0, hooks.Pattern)] // [heads, T, T]
	T := len(ids)
	fmt.Println("pattern shape:", pat.Shape)
	fmt.Printf("head 0, last query -> key 0: %.2f\n", pat.Data[(T-1)*T+0])
	fmt.Println("logits:", len(logits), "=", T, "x", m.Info().Vocab)
}
