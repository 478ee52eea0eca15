package analysis_test

import (
	"fmt"
	"log"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/metrics"
)

// Run the head analysis of `sinkscope heads` as a function: the built-in
// Bigram-Backcopy toy over its own trigger and non-trigger domains.
func ExampleHeads() {
	m, err := analysis.Open(sinkscope.Builtin, 1)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	src, err := analysis.Inputs{SeqLen: 64, MaxSeqs: 8, Seed: 1}.Read()
	if err != nil {
		log.Fatal(err)
	}
	doms, err := src.For(m)
	if err != nil {
		log.Fatal(err)
	}
	rep, err := analysis.Heads(m, doms, analysis.HeadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	classes := rep.Classes(metrics.DefaultClassifier())
	for j, d := range rep.Domains {
		h := d.Result.Head(0, 0)
		fmt.Printf("%s: first_attn %.3f, prev_attn %.3f: %s\n", d.Name, h.FirstAttn, h.PrevAttn, classes[j][0])
	}
	// Output:
	// trigger: first_attn 0.000, prev_attn 0.785: active
	// non-trigger: first_attn 0.989, prev_attn 0.005: dormant
}
