package domains_test

import (
	"fmt"
	"strings"

	"github.com/sinkscope/sinkscope/domains"
)

// Sample a .txt domain: each blank-line separated block is one text; texts are
// encoded, cut to SeqLen tokens, and the shorter ones skipped and counted.
func ExampleSample() {
	items, _ := domains.ParseText("notes.txt", []byte("one two three four five\n\nsix seven\n\neight nine ten eleven\n"))
	// A toy encoder: BOS (1) and one id per word.
	enc := func(text string) ([]int, error) {
		ids := []int{1}
		for range strings.Fields(text) {
			ids = append(ids, 7)
		}
		return ids, nil
	}
	d, err := domains.Sample("notes", items, enc, domains.Options{SeqLen: 4, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d texts, %d sequences of 4 tokens, %d skipped\n", d.Items, len(d.Seqs), d.Skipped)
	// Output: 3 texts, 2 sequences of 4 tokens, 1 skipped
}

func ExampleBuiltin() {
	for _, name := range domains.Builtins() {
		items, _ := domains.Builtin(name)
		fmt.Println(name, len(items) >= 24)
	}
	// Output:
	// prose true
	// code true
}
