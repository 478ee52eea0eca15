package bbtoy

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// chunkSeqs is the number of sequences whose gradients one worker sums into
// one buffer. Buffers are added in chunk order, so a run's numbers do not
// depend on the number of threads.
const chunkSeqs = 4

// TrainConfig describes a training run.
type TrainConfig struct {
	Model   Config
	Optim   OptimConfig
	Batch   int    // sequences per step
	Seed    uint64 // initialisation and data
	Threads int    // worker goroutines; ≤ 0: GOMAXPROCS
}

// Trainer trains a BB model with fresh batches every step. Step t's batch
// is generated from PCG(seed, t·2²⁰ + b) for sequence b, so it depends only on
// the seed and the step.
type Trainer struct {
	cfg     TrainConfig
	model   *Model
	opt     *optimizer
	step    int
	grad    []float32   // [params] summed gradient of the last step
	chunks  [][]float32 // [nChunks][params] per-chunk gradients
	losses  []float64   // [nChunks] summed loss per chunk
	workers []*worker
}

// worker owns one sequence's activations and backward scratch.
type worker struct {
	a   *acts[float32]
	s   *scratch[float32]
	seq []int // [SeqLen+1]
}

// NewTrainer initialises a model for task and an optimiser.
func NewTrainer(task *Task, tc TrainConfig) (*Trainer, error) {
	if err := tc.Optim.Validate(); err != nil {
		return nil, err
	}
	if tc.Batch < 1 {
		return nil, fmt.Errorf("bbtoy: batch %d, want ≥ 1", tc.Batch)
	}
	if tc.Model.MaxPos < task.SeqLen() {
		return nil, fmt.Errorf("bbtoy: model has %d positions, the task's sequences %d", tc.Model.MaxPos, task.SeqLen())
	}
	m, err := NewModel(tc.Model, task, tc.Seed)
	if err != nil {
		return nil, err
	}
	return newTrainerFor(m, tc), nil
}

func newTrainerFor(m *Model, tc TrainConfig) *Trainer {
	threads := tc.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	nChunks := (tc.Batch + chunkSeqs - 1) / chunkSeqs
	threads = min(threads, nChunks)
	tr := &Trainer{cfg: tc, model: m, opt: newOptimizer(tc.Optim, m.lay.total), grad: make([]float32, m.lay.total),
		chunks: make([][]float32, nChunks), losses: make([]float64, nChunks)}
	for i := range tr.chunks {
		tr.chunks[i] = make([]float32, m.lay.total)
	}
	T := m.task.SeqLen()
	for i := 0; i < threads; i++ {
		tr.workers = append(tr.workers, &worker{a: newActs[float32](m.cfg, T), s: newScratch[float32](m.cfg, T), seq: make([]int, T+1)})
	}
	return tr
}

// Model returns the model being trained (its weights change with every Step).
func (tr *Trainer) Model() *Model { return tr.model }

// StepCount is the number of steps taken.
func (tr *Trainer) StepCount() int { return tr.step }

// Info returns the run's provenance at the current step.
func (tr *Trainer) Info() *TrainInfo {
	o := tr.cfg.Optim
	return &TrainInfo{Step: tr.step, Optimizer: o.Name, LR: o.LR, Beta1: o.Beta1, Beta2: o.Beta2, AdamEps: o.Eps,
		Momentum: o.Momentum, WeightDecay: o.WeightDecay, Batch: tr.cfg.Batch, Seed: tr.cfg.Seed}
}

// batchRNG is the generator of sequence b of step t.
func batchRNG(seed uint64, t, b int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(t)<<20|uint64(b)))
}

// Step generates a batch, computes the mean cross-entropy and its gradient,
// and updates the weights. It returns the loss before the update.
func (tr *Trainer) Step() float64 {
	m := tr.model
	T := m.task.SeqLen()
	B := tr.cfg.Batch
	scale := 1 / float32(B*T)
	var next atomic.Int64
	var wg sync.WaitGroup
	for _, w := range tr.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ci := int(next.Add(1) - 1)
				if ci >= len(tr.chunks) {
					return
				}
				g := tr.chunks[ci]
				clear(g)
				gw := bind(m.lay, g)
				var loss float64
				for b := ci * chunkSeqs; b < min((ci+1)*chunkSeqs, B); b++ {
					m.task.Sample(batchRNG(tr.cfg.Seed, tr.step, b), w.seq)
					m.net.forward(w.seq[:T], w.a, nil)
					loss += crossEntropy(w.a, w.seq[1:], m.cfg.Vocab)
					m.net.backward(w.seq[:T], w.seq[1:], w.a, gw, scale, w.s)
				}
				tr.losses[ci] = loss
			}
		}()
	}
	wg.Wait()
	copy(tr.grad, tr.chunks[0])
	loss := tr.losses[0]
	for ci := 1; ci < len(tr.chunks); ci++ {
		for i, v := range tr.chunks[ci] {
			tr.grad[i] += v
		}
		loss += tr.losses[ci]
	}
	tr.opt.step(m.params, tr.grad)
	tr.step++
	return loss / float64(B*T)
}
