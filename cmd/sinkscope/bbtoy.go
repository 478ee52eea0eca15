package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/spf13/cobra"
)

func newBBToyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bbtoy",
		Short: "Train and analyse the Bigram-Backcopy toy transformer (attention sink from scratch)",
		Long: `The Bigram-Backcopy (BB) toy of Guo et al. (arXiv 2410.13835): a character-level task from
Tiny Shakespeare bigrams where the 3 most frequent characters (space, e, t) are followed by
a copy of the character before them. A 1-layer transformer trained on it grows an attention
sink on BOS, a vanishing BOS value state and a growing BOS residual norm.`,
	}
	c.AddCommand(newBBToyTrainCmd(), newBBToyAnalyzeCmd(), newBBToyReproduceCmd())
	return c
}

// trainFlags are the model and optimiser flags shared by train and reproduce.
type trainFlags struct {
	corpus      string
	triggers    int
	d, layers   int
	heads       int
	attention   string
	noAttn      string
	noMLP       string
	optimizer   string
	lr          float64
	beta1       float64
	beta2       float64
	adamEps     float64
	momentum    float64
	wd          float64
	batch       int
	steps       int
	seed        uint64
	threads     int
	evalEvery   int
	evalBatch   int
	checkpoints string
}

func (f *trainFlags) register(c *cobra.Command, full bool) {
	fl := c.Flags()
	fl.IntVar(&f.d, "d", 64, "model width d_model")
	fl.IntVar(&f.batch, "batch", 64, "sequences per step")
	fl.IntVar(&f.steps, "steps", 0, "training steps (0: the experiment's default; train: 3000)")
	fl.Uint64Var(&f.seed, "seed", 42, "seed for initialisation and data")
	fl.IntVar(&f.threads, "threads", 0, "worker threads (0: all CPUs)")
	fl.IntVar(&f.evalEvery, "eval-every", 50, "record dynamics every N steps")
	fl.IntVar(&f.evalBatch, "eval-batch", 128, "sequences in the fixed evaluation batch")
	if !full {
		return
	}
	fl.StringVar(&f.corpus, "corpus", "", "character corpus to build the task from (default: the built-in Tiny Shakespeare counts)")
	fl.IntVar(&f.triggers, "triggers", bbtoy.DefaultTriggers, "number of trigger tokens (most frequent characters) with --corpus")
	fl.IntVar(&f.layers, "layers", 1, "transformer blocks")
	fl.IntVar(&f.heads, "heads", 1, "attention heads per layer")
	fl.StringVar(&f.attention, "attention", bbtoy.Softmax, "attention: softmax or relu (ReLU(q·k/√d_h)/(i+1))")
	fl.StringVar(&f.noAttn, "no-attn", "", "comma-separated layers without attention")
	fl.StringVar(&f.noMLP, "no-mlp", "", "comma-separated layers without MLP")
	fl.StringVar(&f.optimizer, "optimizer", bbtoy.AdamW, "optimizer: adamw or sgd")
	fl.Float64Var(&f.lr, "lr", 1e-3, "learning rate")
	fl.Float64Var(&f.beta1, "beta1", 0.9, "AdamW beta1")
	fl.Float64Var(&f.beta2, "beta2", 0.99, "AdamW beta2")
	fl.Float64Var(&f.adamEps, "adam-eps", 1e-8, "AdamW epsilon")
	fl.Float64Var(&f.momentum, "momentum", 0.9, "SGD momentum")
	fl.Float64Var(&f.wd, "weight-decay", 1e-4, "weight decay (AdamW: decoupled; SGD: L2 in the gradient)")
	fl.StringVar(&f.checkpoints, "checkpoints", "log", "checkpoint steps: log (0,1,2,5,10,20,50,...,last), none, or a comma-separated list")
}

func parseLayers(s string, n int, flag string) ([]bool, error) {
	out := make([]bool, n)
	if s == "" {
		return out, nil
	}
	for _, f := range strings.Split(s, ",") {
		l, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || l < 0 || l >= n {
			return nil, usagef("--%s %q: want layer indices in [0, %d)", flag, s, n)
		}
		out[l] = true
	}
	return out, nil
}

func (f *trainFlags) task() (*bbtoy.Task, error) {
	if f.corpus == "" {
		return bbtoy.BuiltinTask(), nil
	}
	b, err := os.ReadFile(f.corpus)
	if err != nil {
		return nil, err
	}
	return bbtoy.NewTaskFromCorpus(string(b), f.triggers)
}

func (f *trainFlags) config(task *bbtoy.Task) (bbtoy.TrainConfig, error) {
	var tc bbtoy.TrainConfig
	if f.d < 1 || f.layers < 1 || f.heads < 1 || f.batch < 1 || f.steps < 0 || f.evalBatch < 1 || f.evalEvery < 0 {
		return tc, usagef("--d, --layers, --heads, --batch and --eval-batch must be positive, --steps and --eval-every non-negative")
	}
	mc := bbtoy.DefaultConfig(task, f.d, f.layers)
	mc.Heads, mc.Attention = f.heads, f.attention
	var err error
	if mc.NoAttn, err = parseLayers(f.noAttn, f.layers, "no-attn"); err != nil {
		return tc, err
	}
	if mc.NoMLP, err = parseLayers(f.noMLP, f.layers, "no-mlp"); err != nil {
		return tc, err
	}
	if err := mc.Validate(); err != nil {
		return tc, usageError{err}
	}
	o := bbtoy.OptimConfig{Name: f.optimizer, LR: f.lr, Beta1: f.beta1, Beta2: f.beta2, Eps: f.adamEps, Momentum: f.momentum, WeightDecay: f.wd}
	if o.Name == bbtoy.SGD {
		o.Beta1, o.Beta2, o.Eps = 0, 0, 0
	} else {
		o.Momentum = 0
	}
	return bbtoy.TrainConfig{Model: mc, Optim: o, Batch: f.batch, Seed: f.seed, Threads: f.threads}, nil
}

func checkpointSteps(spec string, steps int) ([]int, error) {
	switch spec {
	case "log":
		return bbtoy.LogSpacedSteps(steps), nil
	case "none", "":
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(spec, ",") {
		s, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || s < 0 || s > steps {
			return nil, usagef("--checkpoints %q: want log, none or steps in [0, %d]", spec, steps)
		}
		out = append(out, s)
	}
	return out, nil
}

func newBBToyTrainCmd() *cobra.Command {
	var f trainFlags
	var out, plotPath string
	c := &cobra.Command{
		Use:   "train --out DIR",
		Short: "Train a BB model: dynamics log (JSON Lines), checkpoints and a dynamics plot",
		Long: `Train a Bigram-Backcopy transformer from scratch in float32 on fresh batches.
Writes DIR/dynamics.jsonl (one record every --eval-every steps on a fixed batch),
DIR/step-NNNNNN/ checkpoints (config.json + model.safetensors, readable by every
sinkscope command) and DIR/dynamics.png (the paper's Figure 4(b), curves min–max normalised).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out DIR is required")
			}
			if f.steps == 0 {
				f.steps = 3000
			}
			task, err := f.task()
			if err != nil {
				return err
			}
			tc, err := f.config(task)
			if err != nil {
				return err
			}
			cks, err := checkpointSteps(f.checkpoints, f.steps)
			if err != nil {
				return err
			}
			if plotPath == "" {
				plotPath = filepath.Join(out, "dynamics.png")
			}
			recs, err := trainRun(cmd, task, tc, f, out, cks, "sinkscope bbtoy "+strings.Join(os.Args[2:], " "))
			if err != nil {
				return err
			}
			if err := bbtoy.PlotDynamics(plotPath, recs, 0, "BB dynamics, layer 0"); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s, %s and checkpoints under %s\n", filepath.Join(out, "dynamics.jsonl"), plotPath, out)
			return nil
		},
	}
	f.register(c, true)
	c.Flags().StringVar(&out, "out", "", "output directory")
	c.Flags().StringVar(&plotPath, "plot", "", "dynamics PNG (default DIR/dynamics.png)")
	return c
}

// trainRun trains one model into dir (dynamics.jsonl, checkpoints) and returns its records.
func trainRun(cmd *cobra.Command, task *bbtoy.Task, tc bbtoy.TrainConfig, f trainFlags, dir string, cks []int, command string) ([]bbtoy.Record, error) {
	tr, err := bbtoy.NewTrainer(task, tc)
	if err != nil {
		return nil, usageError{err}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "dynamics.jsonl")
	tmp, err := os.CreateTemp(dir, ".dynamics.jsonl.tmp*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var progress io.Writer = cmd.ErrOrStderr()
	recs, err := tr.Run(ctx, bbtoy.RunConfig{Steps: f.steps, EvalEvery: f.evalEvery,
		Eval: bbtoy.NewEvaluator(task, f.evalBatch, 42, tc.Threads), Checkpoints: cks, Dir: dir,
		Log: tmp, Progress: progress, Command: command})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), logPath)
	}
	return recs, err
}

func newBBToyAnalyzeCmd() *cobra.Command {
	var format *string
	var seqs int
	var seed uint64
	c := &cobra.Command{
		Use:   "analyze [DIR]",
		Short: "Head table (trigger vs non-trigger queries) and component ablations of a BB checkpoint",
		Long: `Analyse a BB checkpoint (default: the built-in one) on generated BB sequences: per head,
attention to BOS (first_attn) and to the previous token on trigger and non-trigger queries,
value norms ‖W_O v‖ of BOS and the rest, and the class (dormant ≥ 0.8, active < 0.5); then
the backcopy and bigram risks with each layer's attention or MLP output zeroed (PAPER §1.7).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			if seqs < 1 {
				return usagef("--seqs %d: want ≥ 1", seqs)
			}
			var ck *loader.Checkpoint
			var err error
			name := "builtin"
			if len(args) == 1 {
				name = args[0]
				ck, err = loader.Open(args[0])
			} else {
				ck, err = loader.OpenFS(bbtoy.Builtin(), ".")
			}
			if err != nil {
				return err
			}
			defer ck.Close()
			m, err := bbtoy.New(ck)
			if err != nil {
				return err
			}
			an, err := bbtoy.Analyze(m, seqs, seed)
			if err != nil {
				return err
			}
			heads := records{fields: []string{"model", "layer", "head", "domain", "n_queries", "first_attn", "prev_attn",
				"value_norm_first", "value_norm_rest", "class"}}
			for _, h := range an.Heads {
				heads.add(name, h.Layer, h.Head, h.Domain, h.FirstAttnQueries, h.FirstAttn, h.PrevAttn, h.ValueNormFirst, h.ValueNormRest, string(h.Class))
			}
			abl := records{fields: []string{"model", "ablation", "backcopy_risk", "bigram_risk", "bigram_excess", "loss"}}
			for _, a := range an.Ablations {
				abl.add(name, a.Name, a.BackcopyRisk, a.BigramRisk, a.BigramExcess, a.Loss)
			}
			w := cmd.OutOrStdout()
			if err := heads.write(w, *format); err != nil {
				return err
			}
			if *format == "table" {
				fmt.Fprintln(w)
			}
			return abl.write(w, *format)
		},
	}
	format = formatFlag(c, "table")
	c.Flags().IntVar(&seqs, "seqs", 64, "generated BB sequences to analyse")
	c.Flags().Uint64Var(&seed, "seed", 1, "seed of the generated sequences")
	return c
}

func newBBToyReproduceCmd() *cobra.Command {
	var f trainFlags
	var exp, out, seeds string
	var format *string
	var reuse bool
	c := &cobra.Command{
		Use:   "reproduce --experiment sink|relu|sgd --out DIR",
		Short: "Reproduce the paper's BB experiments at this machine's scale, with a table against the paper",
		Long: `Train the runs of one of the paper's Bigram-Backcopy experiments and compare them with the
paper's numbers (PAPER.md §1.7, §4) and the PyTorch anchor (bench/bb_torch.py, same config):
  sink  1 layer, softmax, AdamW lr 1e-3, 3000 steps: sink, value-state drain, Δlogit growth,
        head dormant on non-trigger queries and active on triggers;
  relu  softmax vs ReLU attention, 800 steps: no sink and no value drain with ReLU;
  sgd   3 layers, AdamW lr 1e-3 vs SGD lr 0.03 (momentum 0.9), 2000 steps: the BOS residual norm.
Runs go to DIR/<run>/ (dynamics.jsonl, final checkpoint), plots to DIR/*.png. Prints the
acceptance checks, then the paper's table next to ours.

At this scale whether and when the sink forms varies from seed to seed. --seeds repeats the
experiment once per seed, in DIR/seed-N/, and prints each check with its value on every seed,
the median and on how many seeds it passed; a check passes on more than half of the seeds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			if out == "" {
				return usagef("--out DIR is required")
			}
			switch exp {
			case bbtoy.ExpSink, bbtoy.ExpReLU, bbtoy.ExpSGD:
			default:
				return usagef("--experiment %q: want sink, relu or sgd", exp)
			}
			if f.d < 1 || f.batch < 1 || f.steps < 0 || f.evalEvery < 1 || f.evalBatch < 1 {
				return usagef("--d, --batch, --eval-every and --eval-batch must be positive, --steps non-negative")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			opts := bbtoy.ReproOptions{Dir: out, D: f.d, Batch: f.batch, Steps: f.steps,
				Seed: f.seed, Threads: f.threads, EvalEvery: f.evalEvery, EvalBatch: f.evalBatch, Progress: cmd.ErrOrStderr(), Reuse: reuse}
			if seeds != "" {
				if cmd.Flags().Changed("seed") {
					return usagef("give --seed or --seeds, not both")
				}
				list, err := parseSeeds(seeds)
				if err != nil {
					return err
				}
				return reproduceSeeds(ctx, cmd, exp, opts, list, *format)
			}
			res, err := bbtoy.Reproduce(ctx, exp, opts)
			if err != nil {
				return err
			}
			checks := records{fields: []string{"experiment", "run", "metric", "step", "value", "want", "pass", "torch_anchor", "paper"}}
			for _, ch := range res.Checks {
				checks.add(exp, ch.Run, ch.Metric, ch.Step, ch.Value, ch.Want, ch.Pass, ch.Anchor, ch.Paper)
			}
			table := records{fields: []string{"experiment", "run", "metric", "step", "ours", "paper"}}
			for _, r := range res.Table {
				var ours, paper any = r.Ours, r.Paper
				if r.Ours != r.Ours {
					ours = nil
				}
				if r.Paper != r.Paper {
					paper = nil
				}
				table.add(exp, r.Run, r.Metric, r.Step, ours, paper)
			}
			w := cmd.OutOrStdout()
			if err := checks.write(w, *format); err != nil {
				return err
			}
			if *format == "table" {
				fmt.Fprintln(w)
			}
			if err := table.write(w, *format); err != nil {
				return err
			}
			for _, p := range res.Plots {
				fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", p)
			}
			for _, ch := range res.Checks {
				if !ch.Pass {
					return fmt.Errorf("bbtoy reproduce %s: %s = %.4g at step %d, want %s", exp, ch.Metric, ch.Value, ch.Step, ch.Want)
				}
			}
			return nil
		},
	}
	f.register(c, false)
	c.Flags().StringVar(&exp, "experiment", "", "sink, relu or sgd")
	c.Flags().StringVar(&seeds, "seeds", "", "repeat the experiment with each of these seeds (e.g. 1-5 or 1,2,42) and summarise the checks over them")
	c.Flags().BoolVar(&reuse, "reuse", false, "reuse DIR/<run>/dynamics.jsonl of runs already trained to --steps (same flags) instead of training them again")
	c.Flags().StringVar(&out, "out", "", "output directory")
	format = formatFlag(c, "table")
	return c
}

// reproduceSeeds runs a seed study and prints each check over the seeds.
func reproduceSeeds(ctx context.Context, cmd *cobra.Command, exp string, o bbtoy.ReproOptions, seeds []uint64, format string) error {
	st, err := bbtoy.ReproduceSeeds(ctx, exp, o, seeds)
	if err != nil {
		return err
	}
	rec := records{fields: []string{"experiment", "run", "metric", "step", "want", "median", "passes", "pass"}}
	for _, s := range seeds {
		rec.fields = append(rec.fields, fmt.Sprintf("seed_%d", s))
	}
	for _, ch := range st.Checks {
		row := []any{exp, ch.Run, ch.Metric, ch.Step, ch.Want, ch.Value, fmt.Sprintf("%d/%d", ch.Passes, len(seeds)), ch.Pass}
		for _, v := range ch.Values {
			row = append(row, v)
		}
		rec.add(row...)
	}
	if err := rec.write(cmd.OutOrStdout(), format); err != nil {
		return err
	}
	for _, ch := range st.Checks {
		if !ch.Pass {
			return fmt.Errorf("bbtoy reproduce %s: %s passed on %d of %d seeds (median %.4g at step %d, want %s)", exp, ch.Metric, ch.Passes, len(seeds), ch.Value, ch.Step, ch.Want)
		}
	}
	return nil
}

// parseSeeds reads --seeds: comma-separated positive seeds or ranges A-B.
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		lo, hi, isRange := strings.Cut(f, "-")
		a, errA := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		b, errB := a, error(nil)
		if isRange {
			b, errB = strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
		}
		if errA != nil || errB != nil || a == 0 || b < a || b-a >= 1000 {
			return nil, usagef("--seeds %q: %q is not a positive seed or a range A-B of at most 1000 seeds", s, f)
		}
		for v := a; v <= b; v++ {
			if slices.Contains(out, v) {
				return nil, usagef("--seeds %q: seed %d given twice", s, v)
			}
			out = append(out, v)
		}
	}
	return out, nil
}
