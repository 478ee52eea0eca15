package bbtoy_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/loader"
)

func ExampleTask_Generate() {
	task := bbtoy.BuiltinTask()
	seq := task.Generate(rand.New(rand.NewPCG(1, 2)), 1)[0]
	fmt.Println(len(seq), seq[0] == task.BOS(), task.Vocab())
	for i := 2; i < len(seq); i++ {
		if task.IsTrigger(seq[i-1]) && seq[i] != seq[i-2] {
			fmt.Println("backcopy rule broken")
		}
	}
	fmt.Printf("triggers %q %q %q\n", task.Token(1), task.Token(43), task.Token(58))
	// Output:
	// 256 true 67
	// triggers " " "e" "t"
}

func ExampleNew() {
	ck, err := loader.OpenFS(bbtoy.Builtin(), ".")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ck.Close()
	m, err := bbtoy.New(ck)
	if err != nil {
		fmt.Println(err)
		return
	}
	task := m.Task()
	seq := task.Generate(rand.New(rand.NewPCG(3, 4)), 1)[0]
	var hs hooks.Set
	cache := hooks.Cache{}
	cache.Capture(&hs, hooks.At(0, hooks.Pattern))
	logits, err := m.Forward(seq, &hs)
	if err != nil {
		fmt.Println(err)
		return
	}
	pat := cache[hooks.At(0, hooks.Pattern)]
	fmt.Println(len(logits) == len(seq)*task.Vocab(), pat.Shape)
	// Output: true [1 256 256]
}

func ExampleNewTrainer() {
	task := bbtoy.BuiltinTask()
	tr, err := bbtoy.NewTrainer(task, bbtoy.TrainConfig{
		Model: bbtoy.DefaultConfig(task, 16, 1), Optim: bbtoy.DefaultAdamW(1e-3), Batch: 4, Seed: 1, Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	first, last := tr.Step(), 0.0
	for i := 0; i < 9; i++ {
		last = tr.Step()
	}
	fmt.Println(first > 4.2, last < first, tr.StepCount())
	// Output: true true 10
}
