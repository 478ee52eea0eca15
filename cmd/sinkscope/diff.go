package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/metrics"
)

type diffFlags struct {
	h         headsFlags
	series    string
	revisions string
	cache     string
	noCache   bool
	plotHeads string
}

func newDiffCmd() *cobra.Command {
	var f diffFlags
	c := &cobra.Command{
		Use:   "diff (MODEL... | --series DIR | --revisions org/name@GLOB)",
		Short: "Per-head sink statistics over a series of training checkpoints, and which heads became dormant when",
		Long: `diff runs the analysis of "heads" on every checkpoint of a training series and prints
one tidy table: the heads fields (domain, layer, head, n_seqs, first_attn, first_attn_std,
attn_mass_first, dlogit_first, value_norm_first, value_norm_rest, head_out_norm,
[ablation_dloss], class) preceded on each row by

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

After the rows comes a summary: per checkpoint its sink rate and class counts per domain,
then per (domain, layer, head) the class at every checkpoint (one letter each: D dormant,
M mixed, A active, ? unknown) and the step from which the head is dormant at every later
checkpoint. In table format the summary follows the table on the output; with --format
json or csv it goes to stderr. --plot draws mean first_attn per layer over steps (one panel
per domain), or with --heads one line per named head and domain.`,
		Example: `  sinkscope diff --revisions 'allenai/OLMo-7B-0424-hf@step*' --max-seqs 32 --seq-len 8 --plot olmo.png --heads 24.0,24.5
  sinkscope diff --series runs/bb-sink --format csv -o series.csv
  sinkscope diff ./step500-tokens2M ./step1000-tokens4M --ids 1,403,407,261 --format json`,
	}
	f.h.in.register(c)
	f.h.format = formatFlag(c, "table")
	fl := c.Flags()
	fl.StringVar(&f.series, "series", "", "a directory whose subdirectories are the checkpoints of the series")
	fl.StringVar(&f.revisions, "revisions", "", "org/name@GLOB: the Hugging Face cache revisions (refs) of a model matching GLOB")
	fl.StringVar(&f.cache, "cache", "", "directory of per-checkpoint results (default: DIR/.sinkscope-cache with --series, else the user cache directory)")
	fl.BoolVar(&f.noCache, "no-cache", false, "neither read nor write cached results")
	fl.StringVar(&f.h.rule, "rule", "first_attn", "classification rule: first_attn, entropy or out_norm")
	fl.Float64Var(&f.h.tauDormant, "tau-dormant", 0.8, "a head is dormant when its score is ≥ this")
	fl.Float64Var(&f.h.tauActive, "tau-active", 0.5, "a head is active when its score is < this")
	fl.StringVar(&f.h.ablate, "ablate", "", `measure Δloss of zeroing heads: "all" or a list like 16.25,3.1 (one forward pass per head and sequence)`)
	fl.StringVar(&f.h.plot, "plot", "", "write a PNG of first_attn over steps: per layer (mean over heads), or per head with --heads")
	fl.StringVar(&f.plotHeads, "heads", "", "heads to plot, e.g. 16.25,3.1 (with --plot)")
	fl.StringVarP(&f.h.output, "output", "o", "", "write the rows (and, for table, the summary) to this file, atomically, instead of stdout")
	fl.IntVar(&f.h.threads, "threads", 0, "threads per forward pass (0: all cores)")
	c.RunE = func(cmd *cobra.Command, args []string) error { return runDiff(cmd, args, &f) }
	return c
}

// seriesItem is one checkpoint of a series.
type seriesItem struct {
	arg      string // what to open: a directory or org/name@revision
	revision string // its name, from which the step is read
	step     metrics.StepInfo
	status   string // computed, cached or "duplicate of …"
}

func runDiff(cmd *cobra.Command, args []string, f *diffFlags) error {
	defer tightenGC()()
	h := &f.h
	bos, cl, ablate, err := h.validate()
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
	items, cacheDir, err := resolveSeries(args, f)
	if err != nil {
		return err
	}
	if err := checkSeries(items); err != nil {
		return err
	}
	for _, hd := range plotHeads {
		if err := checkHeadIn(hd, items[0].arg); err != nil {
			return err
		}
	}
	srcs, err := h.in.readSources()
	if err != nil {
		return err
	}
	opts, err := optionsHash(h, srcs)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	cache := diffCache{}
	if !f.noCache {
		cache.dir = cacheDir
	}

	runs := make([]*modelRun, len(items))
	first := map[string]int{} // checkpoint identity → first item holding it
	for i := range items {
		it := &items[i]
		ck, err := loader.Open(it.arg)
		if err != nil {
			return fmt.Errorf("diff: checkpoint %d of %d: %w", i+1, len(items), err)
		}
		bar := newProgress(stderr, fmt.Sprintf("%s: hashing %d tensors", it.arg, len(ck.Tensors.Names())), len(ck.Tensors.Names()))
		id, err := cache.identify(ck, bar.step)
		bar.finish()
		ck.Close()
		if err != nil {
			return fmt.Errorf("diff: %s: %w", it.arg, err)
		}
		if j, ok := first[id.id]; ok {
			it.status = "duplicate of " + items[j].arg
			fmt.Fprintf(stderr, "sinkscope: warning: diff: %s and %s are the same checkpoint (same config.json and %s, sha256 %s…); reusing the results of %s\n",
				items[j].arg, it.arg, id.how, id.id[:12], items[j].arg)
			dup := *runs[j]
			dup.label = it.arg
			runs[i] = &dup
			continue
		}
		first[id.id] = i
		sum := sha256.Sum256([]byte(id.id + "\x00" + opts))
		key := hex.EncodeToString(sum[:])
		if e := cache.load(key, stderr); e != nil {
			it.status = "cached"
			runs[i] = e.modelRun(it.arg, cl)
			fmt.Fprintf(stderr, "diff: [%d/%d] %s: cached (%s)\n", i+1, len(items), it.arg, cache.path(key))
			continue
		}
		run, err := analyseModel(it.arg, h, srcs, bos, cl, ablate, stderr)
		if err != nil {
			return err
		}
		e := toCached(key, run)
		if err := cache.store(e); err != nil {
			fmt.Fprintf(stderr, "sinkscope: warning: %v (results not cached)\n", err)
		}
		runs[i] = e.modelRun(it.arg, cl)
		it.status = "computed"
		fmt.Fprintf(stderr, "diff: [%d/%d] %s: computed\n", i+1, len(items), it.arg)
	}

	rec := diffRecords(items, runs, h.ablate != "")
	var out, summary bytes.Buffer
	if err := rec.write(&out, *h.format); err != nil {
		return err
	}
	writeDiffSummary(&summary, items, runs, cl)
	if *h.format == "table" {
		out.WriteString("\n")
		out.Write(summary.Bytes())
	} else {
		stderr.Write(summary.Bytes())
	}
	if h.plot != "" {
		png, err := plotSeries(items, runs, plotHeads)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(h.plot, png); err != nil {
			return err
		}
	}
	if h.output != "" {
		return atomicfile.WriteFile(h.output, out.Bytes())
	}
	_, err = cmd.OutOrStdout().Write(out.Bytes())
	return err
}

// resolveSeries lists the checkpoints in step order and picks the default
// cache directory.
func resolveSeries(args []string, f *diffFlags) ([]seriesItem, string, error) {
	modes := 0
	for _, on := range []bool{len(args) > 0, f.series != "", f.revisions != ""} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return nil, "", usagef("give the series one way: MODEL arguments, --series DIR or --revisions org/name@GLOB")
	}
	var items []seriesItem
	cacheDir := f.cache
	if cacheDir == "" {
		if d, err := os.UserCacheDir(); err == nil {
			cacheDir = filepath.Join(d, "sinkscope", "diff")
		}
	}
	switch {
	case len(args) > 0:
		for _, a := range args {
			rev := filepath.Base(filepath.Clean(a))
			if _, err := os.Stat(a); err != nil {
				if _, r, ok := loader.ParseModelID(a); ok {
					rev = r
				}
			}
			items = append(items, seriesItem{arg: a, revision: rev})
		}
	case f.series != "":
		ents, err := os.ReadDir(f.series)
		if err != nil {
			return nil, "", fmt.Errorf("diff: --series: %w", err)
		}
		for _, e := range ents {
			dir := filepath.Join(f.series, e.Name())
			if st, err := os.Stat(dir); err != nil || !st.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue // a file, a dangling link or a hidden entry (such as the cache)
			}
			if _, err := os.Stat(filepath.Join(dir, loader.ConfigFile)); err != nil {
				if metrics.ParseStep(e.Name()).Step >= 0 {
					return nil, "", fmt.Errorf("diff: --series %s: checkpoint %s has no %s", f.series, e.Name(), loader.ConfigFile)
				}
				continue // not a checkpoint
			}
			items = append(items, seriesItem{arg: dir, revision: e.Name()})
		}
		if len(items) == 0 {
			return nil, "", fmt.Errorf("diff: --series %s holds no checkpoint directories (subdirectories with %s)", f.series, loader.ConfigFile)
		}
		if f.cache == "" {
			cacheDir = filepath.Join(f.series, ".sinkscope-cache")
		}
	default:
		var err error
		if items, err = hubRevisions(f.revisions); err != nil {
			return nil, "", err
		}
	}
	names := make([]string, len(items))
	for i, it := range items {
		names[i] = it.revision
	}
	ordered := make([]seriesItem, len(items))
	for i, j := range metrics.OrderByStep(names) {
		ordered[i] = items[j]
		ordered[i].step = metrics.ParseStep(items[j].revision)
	}
	return ordered, cacheDir, nil
}

// hubRevisions lists the cached refs of org/name matching the glob of
// "org/name@GLOB".
func hubRevisions(spec string) ([]seriesItem, error) {
	repo, glob, ok := loader.ParseModelID(spec)
	if !ok || !strings.Contains(spec, "@") {
		return nil, usagef("--revisions %q: want org/name@GLOB, e.g. allenai/OLMo-7B-0424-hf@step*", spec)
	}
	if _, err := path.Match(glob, ""); err != nil {
		return nil, usagef("--revisions %q: bad glob %q: %v", spec, glob, err)
	}
	cache := loader.HubCacheDir()
	repoDir := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	if st, err := os.Stat(repoDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("diff: --revisions: the Hugging Face cache %s has no %s (set HF_HUB_CACHE or HF_HOME to use another; sinkscope never downloads)", cache, repo)
	}
	refs, _ := loader.Revisions(repoDir)
	var items []seriesItem
	for _, r := range refs {
		if m, _ := path.Match(glob, r); m {
			items = append(items, seriesItem{arg: repo + "@" + r, revision: r})
		}
	}
	if len(items) == 0 {
		avail := "none"
		if len(refs) > 0 {
			avail = strings.Join(refs, ", ")
		}
		return nil, fmt.Errorf("diff: --revisions: no cached revision of %s matches %q (cached refs: %s)", repo, glob, avail)
	}
	return items, nil
}

// checkSeries reads every checkpoint's config before any compute: each must
// exist and all must share one architecture and head layout.
func checkSeries(items []seriesItem) error {
	type shape struct {
		arch          string
		layers, heads int
	}
	var ref shape
	for i, it := range items {
		dir, err := loader.Resolve(it.arg)
		if err != nil {
			return fmt.Errorf("diff: checkpoint %s: %w", it.arg, err)
		}
		file := filepath.Join(dir, loader.ConfigFile)
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("diff: checkpoint %s: %w", it.arg, err)
		}
		cfg, err := loader.ParseConfig(file, data)
		if err != nil {
			return fmt.Errorf("diff: checkpoint %s: %w", it.arg, err)
		}
		s := shape{cfg.Architecture, cfg.NumLayers, cfg.NumHeads}
		if i == 0 {
			ref = s
			continue
		}
		if s != ref {
			return fmt.Errorf("diff: the architecture changes within the series: %s is %s with %s × %s, but %s is %s with %s × %s",
				items[0].arg, ref.arch, plural(ref.layers, "layer"), plural(ref.heads, "head"),
				it.arg, s.arch, plural(s.layers, "layer"), plural(s.heads, "head"))
		}
	}
	return nil
}

// checkHeadIn checks that a --heads head exists in the series' shape.
func checkHeadIn(hd metrics.Head, arg string) error {
	dir, err := loader.Resolve(arg)
	if err != nil {
		return err
	}
	file := filepath.Join(dir, loader.ConfigFile)
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	cfg, err := loader.ParseConfig(file, data)
	if err != nil {
		return err
	}
	if hd.Layer >= cfg.NumLayers || hd.Head >= cfg.NumHeads {
		return usagef("--heads: head %v is outside the series (%s × %s)", hd, plural(cfg.NumLayers, "layer"), plural(cfg.NumHeads, "head"))
	}
	return nil
}

// diffRecords lays out the rows: the heads rows of each checkpoint in series
// order, each led by the checkpoint's name and position in training.
func diffRecords(items []seriesItem, runs []*modelRun, withAblation bool) *records {
	rec := &records{}
	for i, run := range runs {
		hr := headRecords([]*modelRun{run}, withAblation)
		if rec.fields == nil {
			rec.fields = append([]string{"checkpoint", "revision", "step", "tokens_seen"}, hr.fields...)
		}
		var step, tokens any
		if s := items[i].step; s.Step >= 0 {
			step = s.Step
		}
		if s := items[i].step; s.Tokens >= 0 {
			tokens = s.Tokens
		}
		for _, row := range hr.rows {
			rec.add(append([]any{items[i].arg, items[i].revision, step, tokens}, row...)...)
		}
	}
	return rec
}

// stepLabel names a checkpoint's place in the series for the summary.
func stepLabel(it seriesItem) string {
	if it.step.Step < 0 {
		return it.revision
	}
	s := fmt.Sprintf("step %d", it.step.Step)
	if it.step.Stage > 0 {
		s = fmt.Sprintf("stage %d %s", it.step.Stage, s)
	}
	return s
}

var classLetter = map[metrics.Class]string{metrics.Dormant: "D", metrics.Mixed: "M", metrics.Active: "A", metrics.Unknown: "?"}

// writeDiffSummary prints per checkpoint the domain summaries, then the
// per-head transitions.
func writeDiffSummary(w io.Writer, items []seriesItem, runs []*modelRun, cl metrics.Classifier) {
	info := runs[0].info
	fmt.Fprintf(w, "series of %s (%s, %s × %s), rule %s (dormant ≥ %g, active < %g):\n", plural(len(items), "checkpoint"),
		info.Arch, plural(info.Layers, "layer"), plural(info.Heads, "head"), cl.Rule, cl.Dormant, cl.Active)
	for i, it := range items {
		tokens := ""
		if it.step.Tokens >= 0 {
			tokens = fmt.Sprintf(", %d tokens", it.step.Tokens)
		}
		fmt.Fprintf(w, "  %s%s: %s (%s)\n", stepLabel(it), tokens, it.arg, it.status)
		run := runs[i]
		for j, d := range run.domains {
			counts := map[metrics.Class]int{}
			for _, c := range run.classes[j] {
				counts[c]++
			}
			res := run.results[j]
			fmt.Fprintf(w, "    domain %s: %s; loss %.4f; sink rate (ε=0.3) %.3f; dormant %d, mixed %d, active %d\n",
				d.name, plural(res.NSeqs, "sequence"), res.Loss, res.SinkRate(metrics.SinkEps),
				counts[metrics.Dormant], counts[metrics.Mixed], counts[metrics.Active])
		}
	}
	fmt.Fprintf(w, "\nper-head transitions (class at each checkpoint in step order: D dormant, M mixed, A active, ? unknown):\n")
	for j, d := range runs[0].domains {
		classes := make([][]metrics.Class, len(runs))
		for c, run := range runs {
			classes[c] = run.classes[j]
		}
		ts := metrics.Transitions(classes, info.Heads)
		fmt.Fprintf(w, "  domain %s:\n", d.name)
		throughout, became := 0, 0
		for _, t := range ts {
			var seq strings.Builder
			for _, c := range t.Classes {
				seq.WriteString(classLetter[c])
			}
			what := "not dormant at the last checkpoint"
			switch {
			case t.DormantFrom == 0:
				what = "dormant throughout"
				throughout++
			case t.DormantFrom > 0:
				what = "dormant from " + stepLabel(items[t.DormantFrom])
				became++
			}
			fmt.Fprintf(w, "    %-6s %s  %s\n", t.Head, seq.String(), what)
		}
		fmt.Fprintf(w, "    dormant at the last checkpoint: %d of %d heads (%d throughout, %d became dormant during the series)\n",
			throughout+became, len(ts), throughout, became)
	}
}
