package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/figure"
	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/tidy"
)

// headsFlags are the analysis flags heads and diff share.
type headsFlags struct {
	in         inputFlags
	format     *string
	rule       string
	tauDormant float64
	tauActive  float64
	ablate     string
	sinkEps    float64
	plot       string
	output     string
	threads    int
	batchRows  int
	zeroFrac   string
	zeroRules  string
	zeroOut    string
	zeroPlot   string
}

const headsLong = `heads runs each MODEL over the sequences of each domain and prints one row per
(domain, layer, head) — with a leading model column when several models are given:

  domain, layer, head  where
  n_seqs               sequences that contributed
  first_attn           mean over queries i ≥ 1 of the attention on key 0, averaged over sequences
  first_attn_std       its standard deviation over sequences (n−1)
  attn_mass_first      Σ_i A[i,0] / T: mean attention key 0 receives from all queries that see it
  prev_attn            mean over queries i ≥ 1 of A[i,i−1], the attention on the previous token
  dlogit_first         mean over queries of S[i,0] − mean_{j≤i} S[i,j] (scaled scores)
  entropy              column entropy × (1 − row entropy) of the pattern (the entropy rule)
  value_norm_first     ‖W_O^(h) v_0‖, what the head writes when it attends only to key 0
  value_norm_rest      the median over positions k ≥ 1 of ‖W_O^(h) v_k‖
  value_norm_mean      the mean over positions k of ‖W_O^(h) v_k‖
  z_norm               mean over queries i ≥ 1 of ‖z_i‖ = ‖(A·V)_i‖, before W_O
  ahon_ln              z_norm over the mean z_norm of the layer's heads (AHON-LN, Sandoval-Segura et al.)
  head_out_norm        mean over queries i ≥ 1 of ‖W_O^(h) z_i‖, after W_O
  head_out_norm_ln     head_out_norm over the layer's mean
  last_out_norm        ‖W_O^(h) z_i‖ at the last query
  top_sink, second_sink  the two keys (positions in the first half) with the most attention mass
  ablation_dloss       (with --ablate) mean over sequences of the next-token loss with the head
                       zeroed minus without; empty/null for heads not ablated
  class                dormant, mixed or active under --rule: any score column or out_norm
                       (1 − head_out_norm_ln, clipped). first_attn, entropy, out_norm are dormant
                       when high (defaults ≥ 0.8, active < 0.5), norms when low (ahon_ln and
                       head_out_norm_ln: ≤ 0.2, > 0.5; raw norms need both --tau flags)

The metrics package documentation defines each number once; per-sequence values (normalised
per sequence) are averaged over the domain's sequences.

Domains: --domain NAME=PATH (repeatable), and --ids/--text as a one-sequence domain named
"input". Texts are encoded under --bos, cut to --seq-len tokens, and shorter ones skipped
(counted in the summary); "ids" records of a .jsonl domain and --ids are used exactly as
given. Without domains a language model is run on the built-in "prose" and "code" domains,
and a Bigram-Backcopy model on generated sequences split into "trigger" and "non-trigger"
domains by the type of each query's input token. Without MODEL, the built-in
Bigram-Backcopy checkpoint is analysed.

After the rows comes a summary: per domain the number of sequences used and skipped, the
mean loss, the sink rates at --sink-eps (Gu et al. use 0.3, Barbero et al. 0.8: the share of
heads whose attention mass on key 0, or on their top key, exceeds it), the share of heads
whose top sink is not key 0, the tokens at the most attended keys, the class counts, and the
active-dormant heads (dormant on one domain and active on another). In table format the
summary follows the table on the output; with --format json or csv the output holds only
the rows and the summary goes to stderr.

--zero-frac F1,F2,… measures calibrated zeroing (Sandoval-Segura et al.): for each rule of
--zero-rules, τ is the quantile of the rule's scores over all (head, sequence) pairs of a
domain such that a fraction F of the pairs is past it; every sequence is run again with its
heads past τ zeroed, and the curve is the mean Δloss against the fraction zeroed. Its rows
(domain, rule, frac, tau, zeroed_frac, dloss) go to --zero-out in --format, or in table
format after the summary; --zero-plot draws the curves.`

func newHeadsCmd() *cobra.Command {
	var f headsFlags
	c := &cobra.Command{
		Use:   "heads [MODEL...]",
		Short: "Per-head attention-sink statistics and active/dormant classes on each input domain",
		Long:  headsLong,
		Example: `  sinkscope heads
  sinkscope heads ./stories260K_hf
  sinkscope heads ./stories260K_hf --domain wiki=wiki.txt --domain code=./src --format csv -o heads.csv
  sinkscope heads ./stories260K_hf --ids 1,403,407,261,378 --format json
  sinkscope heads ./stories260K_hf --ablate all --plot heads.png
  sinkscope heads ./shakespeare --zero-frac 0,0.05,0.1,0.2,0.3 --zero-plot zero.png`,
	}
	f.register(c, "write a PNG heatmap of first_attn (layer × head) per domain, and the difference of the first two domains")
	fl := c.Flags()
	fl.StringVar(&f.zeroFrac, "zero-frac", "", "measure calibrated zeroing at these fractions of (head, sequence) pairs, e.g. 0,0.05,0.1")
	fl.StringVar(&f.zeroRules, "zero-rules", "first_attn,ahon_ln,value_norm_first", "rules to calibrate zeroing by")
	fl.StringVar(&f.zeroOut, "zero-out", "", "write the zeroing rows to this file in --format (needed for json and csv)")
	fl.StringVar(&f.zeroPlot, "zero-plot", "", "write a PNG of Δloss against the fraction of heads zeroed")
	c.RunE = func(cmd *cobra.Command, args []string) error { return runHeads(cmd, args, &f) }
	return c
}

// register adds the shared analysis flags to c.
func (f *headsFlags) register(c *cobra.Command, plotHelp string) {
	f.in.register(c)
	f.format = formatFlag(c, "table")
	fl := c.Flags()
	fl.StringVar(&f.rule, "rule", "first_attn", "classification rule: first_attn, entropy, out_norm or any score column (value_norm_first, ahon_ln, ...)")
	fl.Float64Var(&f.tauDormant, "tau-dormant", 0.8, "a head is dormant when its score is past this (≥ for first_attn, entropy, out_norm; ≤ for norms)")
	fl.Float64Var(&f.tauActive, "tau-active", 0.5, "a head is active when its score is short of this (< for first_attn, entropy, out_norm; > for norms)")
	fl.StringVar(&f.ablate, "ablate", "", `measure Δloss of zeroing heads: "all" or a list like 16.25,3.1 (one forward pass per head and sequence)`)
	fl.Float64Var(&f.sinkEps, "sink-eps", metrics.SinkEps, "attention mass above which a key is a sink, for the sink rates (Gu et al. 0.3, Barbero et al. 0.8)")
	fl.StringVar(&f.plot, "plot", "", plotHelp)
	fl.StringVarP(&f.output, "output", "o", "", "write the rows (and, for table, the summary) to this file, atomically, instead of stdout")
	fl.IntVar(&f.threads, "threads", 0, "threads per forward pass (0: all cores)")
	fl.IntVar(&f.batchRows, "batch-rows", analysis.DefaultBatchRows, "positions of equal-length sequences run through one forward pass together (1: each alone)")
}

// options checks the flags and returns the classifier and the analysis
// options.
func (f *headsFlags) options(cmd *cobra.Command) (metrics.Classifier, analysis.HeadOptions, error) {
	var cl metrics.Classifier
	var o analysis.HeadOptions
	if err := checkFormat(*f.format); err != nil {
		return cl, o, err
	}
	rule, err := metrics.ParseRule(f.rule)
	if err != nil {
		return cl, o, usageError{err}
	}
	cl = metrics.Classifier{Rule: rule, Dormant: f.tauDormant, Active: f.tauActive}
	if d, a, ok := rule.DefaultThresholds(); ok {
		if !cmd.Flags().Changed("tau-dormant") {
			cl.Dormant = d
		}
		if !cmd.Flags().Changed("tau-active") {
			cl.Active = a
		}
	} else if !cmd.Flags().Changed("tau-dormant") || !cmd.Flags().Changed("tau-active") {
		return cl, o, usagef("--rule %s has no default thresholds (its scale depends on the model): give --tau-dormant and --tau-active", rule)
	}
	if err = cl.Validate(); err != nil {
		return cl, o, usageError{err}
	}
	switch f.ablate {
	case "":
	case "all":
		o.AblateAll = true
	default:
		if o.Ablate, err = metrics.ParseHeads(f.ablate); err != nil {
			return cl, o, usageError{err}
		}
	}
	if f.threads < 0 {
		return cl, o, usagef("--threads %d: want 0 (all cores) or more", f.threads)
	}
	if !(f.sinkEps >= 0 && f.sinkEps < 1) {
		return cl, o, usagef("--sink-eps %g: want a number in [0, 1)", f.sinkEps)
	}
	if f.zeroFrac == "" {
		if f.zeroOut != "" || f.zeroPlot != "" {
			return cl, o, usagef("--zero-out and --zero-plot need --zero-frac")
		}
		return cl, o, nil
	}
	if *f.format != "table" && f.zeroOut == "" {
		return cl, o, usagef("--zero-frac with --format %s needs --zero-out FILE", *f.format)
	}
	z := &analysis.Zeroing{}
	for _, s := range strings.Split(f.zeroFrac, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || !(v >= 0 && v <= 1) {
			return cl, o, usagef("--zero-frac %q: %q is not a fraction in [0, 1]", f.zeroFrac, s)
		}
		z.Fracs = append(z.Fracs, v)
	}
	for _, s := range strings.Split(f.zeroRules, ",") {
		r, err := metrics.ParseRule(strings.TrimSpace(s))
		if err != nil {
			return cl, o, usageError{err}
		}
		z.Rules = append(z.Rules, r)
	}
	o.Zeroing = z
	o.BatchRows = max(f.batchRows, 1)
	return cl, o, nil
}

func runHeads(cmd *cobra.Command, args []string, f *headsFlags) error {
	defer tightenGC()()
	cl, opts, err := f.options(cmd)
	if err != nil {
		return err
	}
	src, err := f.in.read()
	if err != nil {
		return err
	}
	models := args
	if len(models) == 0 {
		models = []string{sinkscope.Builtin}
	}
	var reps []*analysis.Report
	for _, arg := range models {
		rep, err := analysis.Run(arg, f.threads, src, opts, bars(cmd.ErrOrStderr()))
		if err != nil {
			return err
		}
		reps = append(reps, rep)
	}
	if f.plot != "" {
		png, err := figure.Heads(reps)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(f.plot, png); err != nil {
			return err
		}
	}
	var zero *tidy.Table
	if opts.Zeroing != nil {
		zero = analysis.ZeroingTable(reps)
		if err := writeZeroing(f, reps, zero); err != nil {
			return err
		}
	}
	summary := func(w io.Writer) {
		for _, rep := range reps {
			rep.WriteSummary(w, cl, f.sinkEps)
		}
		if zero != nil && f.zeroOut == "" {
			fmt.Fprintf(w, "\ncalibrated zeroing (Δloss against the fraction of (head, sequence) pairs zeroed):\n")
			zero.Write(w, "table")
		}
	}
	return emit(cmd, analysis.HeadTable(reps, cl, opts.Ablate != nil || opts.AblateAll), *f.format, summary, f.output)
}

// writeZeroing writes the zeroing rows and curve files asked for.
func writeZeroing(f *headsFlags, reps []*analysis.Report, rec *tidy.Table) error {
	if f.zeroPlot != "" {
		png, err := figure.Zeroing(reps)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(f.zeroPlot, png); err != nil {
			return err
		}
	}
	if f.zeroOut == "" {
		return nil
	}
	var b strings.Builder
	if err := rec.Write(&b, *f.format); err != nil {
		return err
	}
	return atomicfile.WriteFile(f.zeroOut, []byte(b.String()))
}
