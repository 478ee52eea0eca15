package main

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/figure"
	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/metrics"
)

type diffFlags struct {
	h         headsFlags
	series    string
	revisions string
	cache     []string
	noCache   bool
	plotHeads string
	shard     string
	shards    int
	merge     bool
	lockAfter time.Duration
}

const diffLong = `diff runs the analysis of "heads" on every checkpoint of a training series and prints
one tidy table: the heads columns (see "sinkscope heads --help") preceded on each row by

  checkpoint   the model argument (directory or org/name@revision)
  revision     the checkpoint's name: the directory's base name or the hub revision
  step         the training step read from the name (null/empty when it has none)
  tokens_seen  tokens seen, read from "tokensNB" (×10⁹) or "tokensNM" (×10⁶) (null/empty when absent)

The series is several MODEL arguments, the checkpoint directories inside --series DIR
(hidden entries skipped), or the revisions of a model in the Hugging Face cache whose ref
names match a glob (path.Match syntax, e.g. allenai/OLMo-7B-0424-hf@step*). Checkpoints are
ordered by the step in their names (stepN-tokensNB, stage1-stepN-…, step_N, bbtoy's
step-000300), stage first; names without a step come last, by name. Every checkpoint must
have the same architecture and number of layers and heads.

One checkpoint is open at a time. Each is identified by a hash of its config.json and
tensor bytes (for hub snapshots, the blob hashes the hub computed; for other checkpoints the
hash is remembered in the cache while the files keep their size and modification time): a
checkpoint identical to an earlier one under another name is reported and its results
reused, not recomputed.
Results are cached per checkpoint identity and analysis inputs in --cache (default: a
.sinkscope-cache directory inside --series DIR, else the user cache directory), written
atomically, so an interrupted sweep resumes where it stopped; the classification flags
are applied afresh on every run. One status line per checkpoint (computed, cached or
duplicate) goes to stderr.

As one task of a job array (--shard i/n, or Slurm's SLURM_ARRAY_TASK_ID, or a Kubernetes
Indexed Job's JOB_COMPLETION_INDEX with --shards n), diff computes only its share of the
distinct checkpoints into the cache, which workers may share (lock files, --lock-timeout),
and prints nothing; --merge then prints what one run would. SIGINT or SIGTERM stops after
the checkpoint in progress (exit 130 or 143); rerun to resume. See the README section
"Running a sweep on a cluster".

After the rows comes a summary: per checkpoint its sink rate and class counts per domain,
then per (domain, layer, head) the class at every checkpoint (one letter each: D dormant,
M mixed, A active, ? unknown) and the step from which the head is dormant at every later
checkpoint. In table format the summary follows the table on the output; with --format
json or csv it goes to stderr. --plot draws mean first_attn per layer over steps (one panel
per domain), or with --heads one line per named head and domain.`

func newDiffCmd() *cobra.Command {
	var f diffFlags
	c := &cobra.Command{
		Use:   "diff (MODEL... | --series DIR | --revisions org/name@GLOB)",
		Short: "Per-head sink statistics over a series of training checkpoints, and which heads became dormant when",
		Long:  diffLong,
		Example: `  sinkscope diff --revisions 'allenai/OLMo-7B-0424-hf@step*' --max-seqs 32 --seq-len 8 --plot olmo.png --heads 24.0,24.5
  sinkscope diff --series runs/bb-sink --format csv -o series.csv
  sinkscope diff ./step500-tokens2M ./step1000-tokens4M --ids 1,403,407,261 --format json`,
	}
	f.h.register(c, "write a PNG of first_attn over steps: per layer (mean over heads), or per head with --heads")
	fl := c.Flags()
	fl.StringVar(&f.series, "series", "", "a directory whose subdirectories are the checkpoints of the series")
	fl.StringVar(&f.revisions, "revisions", "", "org/name@GLOB: the Hugging Face cache revisions (refs) of a model matching GLOB")
	fl.StringArrayVar(&f.cache, "cache", nil, "directory of per-checkpoint results (default: DIR/.sinkscope-cache with --series, else the user cache directory); repeat to also read others")
	fl.BoolVar(&f.noCache, "no-cache", false, "neither read nor write cached results")
	fl.StringVar(&f.plotHeads, "heads", "", "heads to plot, e.g. 16.25,3.1 (with --plot)")
	fl.StringVar(&f.shard, "shard", "", "i/n: compute only worker i's share (0-based) of n into the cache (default: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX)")
	fl.IntVar(&f.shards, "shards", 0, "the number of workers, with a Kubernetes Indexed Job's JOB_COMPLETION_INDEX")
	fl.BoolVar(&f.merge, "merge", false, "compute nothing: print the series from the cache(s), listing checkpoints not computed yet")
	fl.DurationVar(&f.lockAfter, "lock-timeout", analysis.DefaultLockTimeout, "how long a worker's lock outlives its last heartbeat")
	c.RunE = func(cmd *cobra.Command, args []string) error { return runDiff(cmd, args, &f) }
	return c
}

func runDiff(cmd *cobra.Command, args []string, f *diffFlags) error {
	defer tightenGC()()
	h := &f.h
	cl, opts, err := h.options(cmd)
	if err != nil {
		return err
	}
	var plotHeads []metrics.Head
	if f.plotHeads != "" {
		if h.plot == "" {
			return usagef("--heads %q needs --plot", f.plotHeads)
		}
		if plotHeads, err = metrics.ParseHeads(f.plotHeads); err != nil {
			return usageError{err}
		}
	}
	items, cacheDir, err := f.checkpoints(args)
	if err != nil {
		return err
	}
	shape, err := analysis.CheckSeries(items)
	if err != nil {
		return err
	}
	for _, hd := range plotHeads {
		if hd.Layer >= shape.Layers || hd.Head >= shape.Heads {
			return usagef("--heads: head %v is outside the series (%s × %s)", hd, analysis.Plural(shape.Layers, "layer"), analysis.Plural(shape.Heads, "head"))
		}
	}
	src, err := h.in.read()
	if err != nil {
		return err
	}
	so := analysis.SeriesOptions{Heads: opts, Threads: h.threads, Log: cmd.ErrOrStderr(), Progress: bars(cmd.ErrOrStderr()), Merge: f.merge}
	if f.merge && f.shard != "" {
		return usagef("--merge prints the whole series: give it no --shard")
	} else if !f.merge {
		if so.Shard, err = analysis.ShardOf(f.shard, f.shards, os.Getenv); err != nil {
			return err
		}
	}
	if !f.noCache {
		so.Cache = analysis.Cache{Dir: cacheDir[0], Also: cacheDir[1:], LockTimeout: f.lockAfter}
	} else if f.merge || so.Shard.Count > 0 {
		return usagef("--no-cache: --merge and shards work through the cache")
	}
	ctx, stop := analysis.StopOnSignals(cmd.Context(), cmd.ErrOrStderr())
	defer stop()
	so.Context = ctx
	res, err := analysis.Series(items, src, so)
	if err != nil || (so.Shard.Count > 0 && !f.merge) {
		return err // a worker's results are in the cache, for --merge
	}
	if h.plot != "" {
		png, err := figure.Series(res, plotHeads)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(h.plot, png); err != nil {
			return err
		}
	}
	summary := func(w io.Writer) { analysis.WriteSeriesSummary(w, res, cl, h.sinkEps) }
	return emit(cmd, analysis.SeriesTable(res, cl, opts.Ablate != nil || opts.AblateAll), *h.format, summary, h.output)
}

// checkpoints lists the series in step order and picks the default cache
// directories.
func (f *diffFlags) checkpoints(args []string) ([]analysis.Checkpoint, []string, error) {
	modes := 0
	for _, on := range []bool{len(args) > 0, f.series != "", f.revisions != ""} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return nil, nil, usagef("give the series one way: MODEL arguments, --series DIR or --revisions org/name@GLOB")
	}
	cacheDir := f.cache
	if len(cacheDir) == 0 {
		cacheDir = []string{""} // none when there is no user cache directory
		if d, err := os.UserCacheDir(); err == nil {
			cacheDir[0] = filepath.Join(d, "sinkscope", "diff")
		}
		if f.series != "" {
			cacheDir[0] = filepath.Join(f.series, ".sinkscope-cache")
		}
	}
	switch {
	case len(args) > 0:
		return analysis.SeriesOf(args), cacheDir, nil
	case f.series != "":
		items, err := analysis.SeriesDir(f.series)
		return items, cacheDir, err
	}
	items, err := analysis.SeriesHub(f.revisions)
	return items, cacheDir, err
}
