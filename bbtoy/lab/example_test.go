package lab_test

import (
	"context"
	"fmt"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/bbtoy/lab"
)

// A short training run with a dynamics record every 5 steps on a fixed
// evaluation batch: the loss falls from about log 67.
func ExampleRun() {
	task := bbtoy.BuiltinTask()
	tr, err := bbtoy.NewTrainer(task, bbtoy.TrainConfig{
		Model: bbtoy.DefaultConfig(task, 16, 1), Optim: bbtoy.DefaultAdamW(1e-3), Batch: 4, Seed: 1, Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	recs, err := lab.Run(context.Background(), tr, lab.RunConfig{Steps: 10, EvalEvery: 5, Eval: lab.NewEvaluator(task, 4, 42, 1)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range recs {
		fmt.Println(r.Step, r.Loss > 4)
	}
	fmt.Println(recs[2].Loss < recs[0].Loss)
	// Output:
	// 0 true
	// 5 true
	// 10 true
	// true
}
