package domains_test

import (
	"fmt"
	"strings"

	"github.com/sinkscope/sinkscope/domains"
)

// Sample a domain of three texts: texts are encoded, cut to SeqLen tokens,
// and the shorter ones skipped and counted. Each reads the sequences back one
// at a time.
func ExampleSample() {
	src := domains.FromItems("notes", []domains.Item{
		{Source: "notes:1", Text: "one two three four five"},
		{Source: "notes:2", Text: "six seven"},
		{Source: "notes:3", Text: "eight nine ten eleven"},
	})
	// A toy encoder: BOS (1) and one id per word.
	enc := func(text string) ([]int, error) {
		ids := []int{1}
		for range strings.Fields(text) {
			ids = append(ids, 7)
		}
		return ids, nil
	}
	d, err := domains.Sample("notes", src, enc, domains.Options{SeqLen: 4, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d texts, %d sequences of 4 tokens, %d skipped\n", d.Items, d.Len(), d.Skipped)
	d.Each(func(ids []int) error {
		fmt.Println(ids)
		return nil
	})
	// Output:
	// 3 texts, 2 sequences of 4 tokens, 1 skipped
	// [1 7 7 7]
	// [1 7 7 7]
}

func ExampleBuiltin() {
	for _, name := range domains.Builtins() {
		src, _ := domains.Builtin(name)
		fmt.Println(name, src.Len() >= 24)
	}
	// Output:
	// prose true
	// code true
}
