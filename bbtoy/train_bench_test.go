package bbtoy

import "testing"

// BenchmarkStep times one training step at the speed-acceptance configuration
// (d 64, 1 layer, batch 64, AdamW); tokens/s = 64·256 / (ns/op · 1e-9).
func BenchmarkStep(b *testing.B) {
	task := BuiltinTask()
	tr, err := NewTrainer(task, TrainConfig{Model: DefaultConfig(task, 64, 1), Optim: DefaultAdamW(1e-3), Batch: 64, Seed: 1, Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tr.Step()
	}
	b.ReportMetric(float64(b.N*64*256)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkStep3 is BenchmarkStep with 3 layers, the configuration of the
// 3-layer speed target (d 64, batch 64, AdamW, 2 threads).
func BenchmarkStep3(b *testing.B) {
	task := BuiltinTask()
	tr, err := NewTrainer(task, TrainConfig{Model: DefaultConfig(task, 64, 3), Optim: DefaultAdamW(1e-3), Batch: 64, Seed: 1, Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		tr.Step()
	}
	b.ReportMetric(float64(b.N*64*256)/b.Elapsed().Seconds(), "tokens/s")
}
