package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/bbtoy"
)

// TrainOptions are one training run's settings, flat, as the command line
// gives them. DefaultTrainOptions holds the paper's choices.
type TrainOptions struct {
	Corpus   string // character corpus to build the task from ("": the built-in Tiny Shakespeare counts)
	Triggers int    // trigger tokens (most frequent characters) with Corpus

	D, Layers, Heads int
	Attention        string // bbtoy.Softmax or bbtoy.ReLU
	NoAttn, NoMLP    []int  // layers without attention, without MLP

	Optimizer   string  // bbtoy.AdamW or bbtoy.SGD
	LR          float64 // learning rate
	Beta1       float64 // AdamW
	Beta2       float64 // AdamW
	AdamEps     float64 // AdamW
	Momentum    float64 // SGD
	WeightDecay float64 // AdamW: decoupled; SGD: L2 in the gradient

	Batch, Steps int
	Seed         uint64
	Threads      int // 0: all CPUs

	EvalEvery   int    // a dynamics record every EvalEvery steps (and at the last)
	EvalBatch   int    // sequences in the fixed evaluation batch
	Checkpoints string // steps to save: "log" (LogSpacedSteps), "none", or a comma-separated list
}

// DefaultTrainOptions are the defaults of `sinkscope bbtoy train`: the
// paper's 1-layer softmax model trained with AdamW at lr 1e-3 for 3000 steps.
func DefaultTrainOptions() TrainOptions {
	return TrainOptions{Triggers: bbtoy.DefaultTriggers, D: 64, Layers: 1, Heads: 1, Attention: bbtoy.Softmax,
		Optimizer: bbtoy.AdamW, LR: 1e-3, Beta1: 0.9, Beta2: 0.99, AdamEps: 1e-8, Momentum: 0.9, WeightDecay: 1e-4,
		Batch: 64, Steps: 3000, Seed: 42, EvalEvery: 50, EvalBatch: 128, Checkpoints: "log"}
}

// Task builds the task: the built-in one, or one from o.Corpus.
func (o TrainOptions) Task() (*bbtoy.Task, error) {
	if o.Corpus == "" {
		return bbtoy.BuiltinTask(), nil
	}
	b, err := os.ReadFile(o.Corpus)
	if err != nil {
		return nil, fmt.Errorf("bbtoy: corpus: %w", err)
	}
	return bbtoy.NewTaskFromCorpus(string(b), o.Triggers)
}

// Config checks o and returns the trainer's configuration on task. A value
// out of range is an analysis.OptionError naming the option.
func (o TrainOptions) Config(task *bbtoy.Task) (bbtoy.TrainConfig, error) {
	var tc bbtoy.TrainConfig
	if o.D < 1 || o.Layers < 1 || o.Heads < 1 || o.Batch < 1 || o.Steps < 0 || o.EvalBatch < 1 || o.EvalEvery < 0 {
		return tc, optionf("d, layers, heads, batch and eval batch must be positive, steps and eval-every non-negative")
	}
	mc := bbtoy.DefaultConfig(task, o.D, o.Layers)
	mc.Heads, mc.Attention = o.Heads, o.Attention
	var err error
	if mc.NoAttn, err = layerSet(o.NoAttn, o.Layers, "no-attn"); err != nil {
		return tc, err
	}
	if mc.NoMLP, err = layerSet(o.NoMLP, o.Layers, "no-mlp"); err != nil {
		return tc, err
	}
	if err := mc.Validate(); err != nil {
		return tc, analysis.OptionError{Err: err}
	}
	opt := bbtoy.OptimConfig{Name: o.Optimizer, LR: o.LR, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.AdamEps, Momentum: o.Momentum, WeightDecay: o.WeightDecay}
	if opt.Name == bbtoy.SGD {
		opt.Beta1, opt.Beta2, opt.Eps = 0, 0, 0
	} else {
		opt.Momentum = 0
	}
	if err := opt.Validate(); err != nil {
		return tc, analysis.OptionError{Err: err}
	}
	return bbtoy.TrainConfig{Model: mc, Optim: opt, Batch: o.Batch, Seed: o.Seed, Threads: o.Threads}, nil
}

// layerSet turns layer indices into a per-layer mask.
func layerSet(layers []int, n int, name string) ([]bool, error) {
	out := make([]bool, n)
	for _, l := range layers {
		if l < 0 || l >= n {
			return nil, optionf("%s %d: want layer indices in [0, %d)", name, l, n)
		}
		out[l] = true
	}
	return out, nil
}

// CheckpointSteps reads a checkpoint schedule for a run of steps steps:
// "log" (LogSpacedSteps), "none" or "", or a comma-separated list of steps.
func CheckpointSteps(spec string, steps int) ([]int, error) {
	switch spec {
	case "log":
		return LogSpacedSteps(steps), nil
	case "none", "":
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(spec, ",") {
		s, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || s < 0 || s > steps {
			return nil, optionf("checkpoints %q: want log, none or steps in [0, %d]", spec, steps)
		}
		out = append(out, s)
	}
	return out, nil
}

// ParseSeeds reads a seed list: comma-separated positive seeds or ranges
// A-B ("1-6,42"), each seed once.
func ParseSeeds(spec string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(spec, ",") {
		f = strings.TrimSpace(f)
		lo, hi, isRange := strings.Cut(f, "-")
		a, errA := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		b, errB := a, error(nil)
		if isRange {
			b, errB = strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		}
		if errA != nil || errB != nil || a == 0 || b < a || b-a >= 1000 {
			return nil, optionf("seeds %q: %q is not a positive seed or a range A-B of at most 1000 seeds", spec, f)
		}
		for v := a; v <= b; v++ {
			if slices.Contains(out, v) {
				return nil, optionf("seeds %q: seed %d given twice", spec, v)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// Train trains the model o describes into dir: dir/dynamics.jsonl (written
// whole, or not at all: an unfinished run leaves its records in
// dir/dynamics.partial.jsonl), the checkpoints of o.Checkpoints under
// dir/step-NNNNNN and, unless plot is "", the dynamics plot of layer 0. Each
// checkpoint records command as how it was made; progress (nil: none) gets
// one line per record.
func Train(ctx context.Context, o TrainOptions, dir, plot, command string, progress io.Writer) ([]Record, error) {
	task, err := o.Task()
	if err != nil {
		return nil, err
	}
	tc, err := o.Config(task)
	if err != nil {
		return nil, err
	}
	cks, err := CheckpointSteps(o.Checkpoints, o.Steps)
	if err != nil {
		return nil, err
	}
	tr, err := bbtoy.NewTrainer(task, tc)
	if err != nil {
		return nil, err
	}
	recs, err := runLogged(ctx, tr, RunConfig{Steps: o.Steps, EvalEvery: o.EvalEvery, Eval: NewEvaluator(task, o.EvalBatch, 42, tc.Threads),
		Checkpoints: cks, Dir: dir, Progress: progress, Command: command})
	if err != nil {
		return recs, err
	}
	if plot != "" {
		err = PlotDynamics(plot, recs, 0, "BB dynamics, layer 0")
	}
	return recs, err
}

// runLogged runs tr with its dynamics log written to rc.Dir/dynamics.jsonl.
// The records go first to rc.Dir/dynamics.partial.jsonl, a line as each is
// measured, so that a run that is interrupted, fails or is killed keeps
// what it recorded; a finished log is synced and renamed to dynamics.jsonl,
// which is therefore whole or absent (or left as an earlier run wrote it).
func runLogged(ctx context.Context, tr *bbtoy.Trainer, rc RunConfig) ([]Record, error) {
	if err := os.MkdirAll(rc.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("bbtoy: %w", err)
	}
	final := filepath.Join(rc.Dir, "dynamics.jsonl")
	part := filepath.Join(rc.Dir, "dynamics.partial.jsonl")
	f, err := os.Create(part)
	if err != nil {
		return nil, fmt.Errorf("bbtoy: %w", err)
	}
	rc.Log = f
	recs, err := Run(ctx, tr, rc)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(part, final)
	}
	if err != nil && len(recs) == 0 {
		os.Remove(part)
		return nil, fmt.Errorf("bbtoy: %w", err)
	}
	if err != nil {
		return recs, fmt.Errorf("bbtoy: %w (the %d dynamics records so far are in %s)", err, len(recs), part)
	}
	return recs, nil
}

func optionf(format string, args ...any) error {
	return analysis.OptionError{Err: fmt.Errorf("bbtoy: "+format, args...)}
}
