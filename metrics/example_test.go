package metrics_test

import (
	"fmt"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/metrics"
)

// Classify heads of two domains and find the active-dormant ones: dormant on
// one domain (first_attn ≥ 0.8) and active on the other (< 0.5).
func ExampleActiveDormant() {
	prose := &metrics.DomainResult{Layers: 1, Heads: 3, HeadRes: []metrics.HeadResult{
		{Layer: 0, Head: 0, FirstAttn: 0.95}, {Layer: 0, Head: 1, FirstAttn: 0.10}, {Layer: 0, Head: 2, FirstAttn: 0.60},
	}}
	code := &metrics.DomainResult{Layers: 1, Heads: 3, HeadRes: []metrics.HeadResult{
		{Layer: 0, Head: 0, FirstAttn: 0.20}, {Layer: 0, Head: 1, FirstAttn: 0.15}, {Layer: 0, Head: 2, FirstAttn: 0.90},
	}}
	cl := metrics.DefaultClassifier()
	classes := [][]metrics.Class{cl.Classify(prose), cl.Classify(code)}
	fmt.Println("prose:", classes[0])
	fmt.Println("code: ", classes[1])
	for _, s := range metrics.ActiveDormant([]string{"prose", "code"}, classes, 3) {
		fmt.Printf("head %v: dormant on %v, active on %v\n", s.Head, s.DormantOn, s.ActiveOn)
	}
	// Output:
	// prose: [dormant active mixed]
	// code:  [active active dormant]
	// head 0.0: dormant on [prose], active on [code]
}

func ExampleParseHeads() {
	heads, err := metrics.ParseHeads("16.25,3.1")
	fmt.Println(heads, err)
	// Output: [16.25 3.1] <nil>
}

func ExampleWelford() {
	var w metrics.Welford
	for _, x := range []float64{0.9, 0.8, 1.0} {
		w.Add(x)
	}
	fmt.Printf("n=%d mean=%.2f std=%.2f\n", w.N(), w.Mean(), w.Std())
	// Output: n=3 mean=0.90 std=0.10
}

// Stream a domain through a model and print each head's mean attention on
// the first token with its class. (Not run: it needs a checkpoint.)
func ExampleAccumulator() {
	m, ck, err := sinkscope.Open("path/to/stories260K_hf", 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ck.Close()
	acc, err := metrics.NewAccumulator(m, metrics.Options{Ablate: []metrics.Head{{Layer: 4, Head: 0}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ids := range [][]int{{1, 403, 407, 261, 378}, {1, 403, 407, 261, 300}} {
		if err := acc.Add(metrics.Sequence{IDs: ids}); err != nil {
			fmt.Println(err)
			return
		}
	}
	d := acc.Result()
	classes := metrics.DefaultClassifier().Classify(&d)
	for i, r := range d.HeadRes {
		fmt.Printf("L%dH%d first_attn %.3f ±%.3f %s\n", r.Layer, r.Head, r.FirstAttn, r.FirstAttnStd, classes[i])
	}
	fmt.Printf("Δloss of zeroing L4H0: %.4f; sink rate %.2f\n", d.Head(4, 0).AblationDLoss, d.SinkRate(metrics.SinkEps))
}
