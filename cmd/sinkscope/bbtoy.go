package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/bbtoy/lab"
	"github.com/sinkscope/sinkscope/tidy"
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

// registerTrain registers the flags of o: all of them for train (full), the
// scale of the run for reproduce.
func registerTrain(c *cobra.Command, o *lab.TrainOptions, full bool) {
	fl := c.Flags()
	fl.IntVar(&o.D, "d", o.D, "model width d_model")
	fl.IntVar(&o.Batch, "batch", o.Batch, "sequences per step")
	fl.Uint64Var(&o.Seed, "seed", o.Seed, "seed for initialisation and data")
	fl.IntVar(&o.Threads, "threads", 0, "worker threads (0: all CPUs)")
	fl.IntVar(&o.EvalEvery, "eval-every", o.EvalEvery, "record dynamics every N steps")
	fl.IntVar(&o.EvalBatch, "eval-batch", o.EvalBatch, "sequences in the fixed evaluation batch")
	if !full {
		fl.IntVar(&o.Steps, "steps", 0, "training steps (0: the experiment's default)")
		return
	}
	fl.IntVar(&o.Steps, "steps", o.Steps, "training steps")
	fl.StringVar(&o.Corpus, "corpus", "", "character corpus to build the task from (default: the built-in Tiny Shakespeare counts)")
	fl.IntVar(&o.Triggers, "triggers", o.Triggers, "number of trigger tokens (most frequent characters) with --corpus")
	fl.IntVar(&o.Layers, "layers", o.Layers, "transformer blocks")
	fl.IntVar(&o.Heads, "heads", o.Heads, "attention heads per layer")
	fl.StringVar(&o.Attention, "attention", o.Attention, "attention: softmax or relu (ReLU(q·k/√d_h)/(i+1))")
	fl.IntSliceVar(&o.NoAttn, "no-attn", nil, "comma-separated layers without attention")
	fl.IntSliceVar(&o.NoMLP, "no-mlp", nil, "comma-separated layers without MLP")
	fl.StringVar(&o.Optimizer, "optimizer", o.Optimizer, "optimizer: adamw or sgd")
	fl.Float64Var(&o.LR, "lr", o.LR, "learning rate")
	fl.Float64Var(&o.Beta1, "beta1", o.Beta1, "AdamW beta1")
	fl.Float64Var(&o.Beta2, "beta2", o.Beta2, "AdamW beta2")
	fl.Float64Var(&o.AdamEps, "adam-eps", o.AdamEps, "AdamW epsilon")
	fl.Float64Var(&o.Momentum, "momentum", o.Momentum, "SGD momentum")
	fl.Float64Var(&o.WeightDecay, "weight-decay", o.WeightDecay, "weight decay (AdamW: decoupled; SGD: L2 in the gradient)")
	fl.StringVar(&o.Checkpoints, "checkpoints", o.Checkpoints, "checkpoint steps: log (0,1,2,5,10,20,50,...,last), none, or a comma-separated list")
}

func newBBToyTrainCmd() *cobra.Command {
	o := lab.DefaultTrainOptions()
	var out, plot string
	c := &cobra.Command{
		Use:   "train --out DIR",
		Short: "Train a BB model: dynamics log (JSON Lines), checkpoints and a dynamics plot",
		Long: `Train a Bigram-Backcopy transformer from scratch in float32 on fresh batches.
Writes DIR/dynamics.jsonl (one record every --eval-every steps on a fixed batch; until the
run ends they are in DIR/dynamics.partial.jsonl, which an interrupted run keeps),
DIR/step-NNNNNN/ checkpoints (config.json + model.safetensors, readable by every
sinkscope command) and DIR/dynamics.png (the paper's Figure 4(b), curves min–max normalised).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out DIR is required")
			}
			if plot == "" {
				plot = filepath.Join(out, "dynamics.png")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			if _, err := lab.Train(ctx, o, out, plot, "sinkscope bbtoy "+strings.Join(os.Args[2:], " "), cmd.ErrOrStderr()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s, %s and checkpoints under %s\n", filepath.Join(out, "dynamics.jsonl"), plot, out)
			return nil
		},
	}
	registerTrain(c, &o, true)
	c.Flags().StringVar(&out, "out", "", "output directory")
	c.Flags().StringVar(&plot, "plot", "", "dynamics PNG (default DIR/dynamics.png)")
	return c
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
			dir, name := "", "builtin"
			if len(args) == 1 {
				dir, name = args[0], args[0]
			}
			an, err := lab.AnalyzeCheckpoint(dir, seqs, seed)
			if err != nil {
				return err
			}
			heads := tidy.Table{Fields: []string{"model", "layer", "head", "domain", "n_queries", "first_attn", "prev_attn",
				"value_norm_first", "value_norm_rest", "class"}}
			for _, h := range an.Heads {
				heads.Add(name, h.Layer, h.Head, h.Domain, h.FirstAttnQueries, h.FirstAttn, h.PrevAttn, h.ValueNormFirst, h.ValueNormRest, string(h.Class))
			}
			abl := tidy.Table{Fields: []string{"model", "ablation", "backcopy_risk", "bigram_risk", "bigram_excess", "loss"}}
			for _, a := range an.Ablations {
				abl.Add(name, a.Name, a.BackcopyRisk, a.BigramRisk, a.BigramExcess, a.Loss)
			}
			return writeTables(cmd, *format, &heads, &abl)
		},
	}
	format = formatFlag(c, "table")
	c.Flags().IntVar(&seqs, "seqs", 64, "generated BB sequences to analyse")
	c.Flags().Uint64Var(&seed, "seed", 1, "seed of the generated sequences")
	return c
}

func newBBToyReproduceCmd() *cobra.Command {
	o := lab.DefaultTrainOptions()
	var exp, out, seeds string
	var format *string
	var reuse bool
	var ro lab.ReproOptions // --after, --threshold and --sgd-lr here, the rest from o
	c := &cobra.Command{
		Use:   "reproduce --experiment sink|relu|sgd|minimal --out DIR",
		Short: "Reproduce the paper's BB experiments at this machine's scale, with a table against the paper",
		Long: `Train the runs of one of the paper's Bigram-Backcopy experiments and compare them with the
paper's numbers (PAPER.md §1.7, §4) and the PyTorch anchor (bench/bb_torch.py, same config):
  sink  1 layer, softmax, AdamW lr 1e-3, 3000 steps: sink, value-state drain, Δlogit growth,
        head dormant on non-trigger queries and active on triggers;
  relu  softmax vs ReLU attention, 800 steps: no sink and no value drain with ReLU;
  sgd   3 layers, AdamW lr 1e-3 vs SGD (momentum 0.9) at matched learning: each trains until
        backcopy risk and bigram excess are ≤ --threshold (within --steps, default 4000), then
        --after more steps; SGD tries each --sgd-lr until one learns. ‖Res_BOS‖ and its
        ratio to the median other position, layers 0 and 1, at the threshold and at the end;
  minimal 3 layers without attention in layer 2, 3000 steps (PAPER §4.3): the BOS residual gap
        after layer 0, layer 1's positive Δlogit_BOS and ‖W_O v_BOS‖, whole and with layer 0 removed.
Runs go to DIR/<run>/ (dynamics.jsonl, final checkpoint), plots to DIR/*.png. Prints the
acceptance checks, then the paper's table next to ours.

At this scale whether and when the sink forms varies from seed to seed. --seeds repeats the
experiment per seed, in DIR/seed-N/, and prints each check with the paper's number, its value
on every seed, the median and on how many seeds it passed (a pass needs more than half).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			if out == "" {
				return usagef("--out DIR is required")
			}
			if o.EvalEvery < 1 {
				return usagef("--eval-every %d: want ≥ 1", o.EvalEvery)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			ro.Dir, ro.D, ro.Batch, ro.Steps, ro.Seed, ro.Threads = out, o.D, o.Batch, o.Steps, o.Seed, o.Threads
			ro.EvalEvery, ro.EvalBatch, ro.Progress, ro.Reuse = o.EvalEvery, o.EvalBatch, cmd.ErrOrStderr(), reuse
			if seeds != "" {
				if cmd.Flags().Changed("seed") {
					return usagef("give --seed or --seeds, not both")
				}
				list, err := lab.ParseSeeds(seeds)
				if err != nil {
					return err
				}
				return reproduceSeeds(ctx, cmd, exp, ro, list, *format)
			}
			res, err := lab.Reproduce(ctx, exp, ro)
			if err != nil {
				return err
			}
			checks := tidy.Table{Fields: []string{"experiment", "run", "metric", "step", "value", "want", "pass", "torch_anchor", "paper"}}
			for _, ch := range res.Checks {
				checks.Add(exp, ch.Run, ch.Metric, ch.Step, orNil(ch.Value), ch.Want, ch.Pass, ch.Anchor, ch.Paper)
			}
			table := tidy.Table{Fields: []string{"experiment", "run", "metric", "step", "ours", "paper"}}
			for _, r := range res.Table {
				table.Add(exp, r.Run, r.Metric, r.Step, orNil(r.Ours), orNil(r.Paper))
			}
			if err := writeTables(cmd, *format, &checks, &table); err != nil {
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
	registerTrain(c, &o, false)
	c.Flags().StringVar(&exp, "experiment", "", "sink, relu, sgd or minimal")
	c.Flags().IntVar(&ro.After, "after", 0, "sgd: steps after the threshold (0: 1000)")
	c.Flags().Float64Var(&ro.Threshold, "threshold", 0, "sgd: backcopy risk and bigram excess that count as learned (0: 0.05)")
	c.Flags().Float64SliceVar(&ro.SGDRates, "sgd-lr", nil, "sgd: the learning rates SGD tries, in order, until one learns (default 0.03,0.1,0.3)")
	c.Flags().StringVar(&seeds, "seeds", "", "repeat the experiment with each of these seeds (e.g. 1-5 or 1,2,42) and summarise the checks over them")
	c.Flags().BoolVar(&reuse, "reuse", false, "reuse DIR/<run>/dynamics.jsonl of runs already trained to --steps (same flags) instead of training them again")
	c.Flags().StringVar(&out, "out", "", "output directory")
	format = formatFlag(c, "table")
	return c
}

// reproduceSeeds runs a seed study and prints each check over the seeds.
func reproduceSeeds(ctx context.Context, cmd *cobra.Command, exp string, o lab.ReproOptions, seeds []uint64, format string) error {
	st, err := lab.ReproduceSeeds(ctx, exp, o, seeds)
	if err != nil {
		return err
	}
	rec := tidy.Table{Fields: []string{"experiment", "run", "metric", "steps", "want", "median", "passes", "pass", "paper"}}
	for _, s := range seeds {
		rec.Fields = append(rec.Fields, fmt.Sprintf("seed_%d", s))
	}
	for _, ch := range st.Checks {
		row := []any{exp, ch.Run, ch.Metric, ch.StepRange(), ch.Want, orNil(ch.Value), fmt.Sprintf("%d/%d", ch.Passes, len(seeds)), ch.Pass, ch.Paper}
		for _, v := range ch.Values {
			row = append(row, orNil(v))
		}
		rec.Add(row...)
	}
	if err := rec.Write(cmd.OutOrStdout(), format); err != nil {
		return err
	}
	for _, ch := range st.Checks {
		if !ch.Pass {
			return fmt.Errorf("bbtoy reproduce %s: %s passed on %d of %d seeds (median %.4g at step %s, want %s)", exp, ch.Metric, ch.Passes, len(seeds), ch.Value, ch.StepRange(), ch.Want)
		}
	}
	return nil
}

// orNil is v, or nil (an empty cell, null in JSON) when v is NaN.
func orNil(v float64) any {
	if v != v {
		return nil
	}
	return v
}
