package main

import (
	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/report"
	"github.com/sinkscope/sinkscope/tokenizer"
)

type reportFlags struct {
	h                 headsFlags
	rows, heads       string
	sampleIDs, sTexts []string
	samples, budget   int
}

func newReportCmd() *cobra.Command {
	var f reportFlags
	c := &cobra.Command{
		Use:   "report [MODEL] [heads flags] -o report.html",
		Short: "Write one self-contained HTML page to explore heads, tokens, attention patterns and series",
		Long: `report writes one HTML file (script, style and data inline; it works offline from file://)
with a layer × head grid per domain and their difference (any metric; hover for the numbers and
class; rule and thresholds editable), a head view (attention patterns of sample sequences on a
canvas, value norms per key, top sinks), a token view and, from diff rows, a series view.
The grid is the analysis of "heads" (same flags), or --rows: saved heads or diff JSON Lines.
Samples are the first sequences of the domains, or --sample-ids/--sample-text. Patterns are
8-bit (stated on the page); without --pattern-heads heads are kept within --pattern-budget.`,
		Example: `  sinkscope report -o bbtoy.html
  sinkscope report ./stories260K_hf --seq-len 32 -o stories.html
  sinkscope report ./stories260K_hf --rows diff.jsonl --sample-ids 1,403,407,261 -o series.html`,
	}
	f.h.register(c, "")
	fl := c.Flags()
	for _, n := range []string{"plot", "format", "sink-eps"} {
		fl.MarkHidden(n)
	}
	fl.Lookup("output").Usage = "the HTML file to write, atomically"
	fl.Lookup("ids").Usage = `comma-separated token ids (@FILE: read from FILE), used exactly as given, as a one-sequence domain named "input" (for the grid; see --sample-ids)`
	fl.StringVar(&f.rows, "rows", "", "heads or diff JSON Lines (--format json) to show instead of running the analysis")
	fl.StringArrayVar(&f.sampleIDs, "sample-ids", nil, "a sample sequence as comma-separated token ids (repeatable)")
	fl.StringArrayVar(&f.sTexts, "sample-text", nil, "a sample sequence as text, encoded under --bos (repeatable)")
	fl.IntVar(&f.samples, "samples", 2, "sample sequences taken from the domains when none are given")
	fl.StringVar(&f.heads, "pattern-heads", "", `heads whose patterns to keep: "all" or a list like 3.1,4.7 (default: chosen within --pattern-budget)`)
	fl.IntVar(&f.budget, "pattern-budget", report.DefaultPatternBudget, "bytes of pattern cells kept when --pattern-heads is not given")
	c.RunE = func(cmd *cobra.Command, args []string) error { return runReport(cmd, args, &f) }
	return c
}

func runReport(cmd *cobra.Command, args []string, f *reportFlags) error {
	cl, opts, err := f.h.options(cmd)
	if err != nil {
		return err
	}
	if len(args) > 1 || f.h.output == "" || f.samples < 0 || f.budget < 0 {
		return usagef("report: want at most one MODEL, -o FILE.html, and non-negative --samples and --pattern-budget")
	}
	src, err := f.h.in.read()
	if err != nil {
		return err
	}
	bos, _ := tokenizer.ParseBOSPolicy(f.h.in.bos) // checked by read
	c := report.Config{Model: sinkscope.Builtin, BOS: bos, Threads: f.h.threads, Sources: src, Heads: opts, Rows: f.rows, Classifier: cl,
		SampleTexts: f.sTexts, Samples: f.samples, PatternBudget: f.budget, Progress: bars(cmd.ErrOrStderr())}
	if len(args) == 1 {
		c.Model = args[0]
	} else if f.rows != "" {
		c.Model = "" // saved rows alone: no samples
	}
	for _, s := range f.sampleIDs {
		ids, err := parseSequenceIDs(s)
		if err != nil {
			return err
		}
		c.SampleIDs = append(c.SampleIDs, ids)
	}
	if f.heads == "all" {
		c.PatternBudget = -1
	} else if f.heads != "" {
		if c.PatternHeads, err = metrics.ParseHeads(f.heads); err != nil {
			return usageError{err}
		}
	}
	page, err := report.Make(c)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(f.h.output, page)
}
