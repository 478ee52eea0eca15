package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/tokenizer"
)

// builtinModel is how the built-in Bigram-Backcopy checkpoint is named in output.
const builtinModel = "builtin:bbtoy"

type headsFlags struct {
	in         inputFlags
	format     *string
	rule       string
	tauDormant float64
	tauActive  float64
	ablate     string
	plot       string
	output     string
	threads    int
}

func newHeadsCmd() *cobra.Command {
	var f headsFlags
	c := &cobra.Command{
		Use:   "heads [MODEL...]",
		Short: "Per-head attention-sink statistics and active/dormant classes on each input domain",
		Long: `heads runs each MODEL over the sequences of each domain and prints one row per
(domain, layer, head) — with a leading model column when several models are given:

  domain            the domain name
  layer, head       the head
  n_seqs            sequences that contributed
  first_attn        mean over queries i ≥ 1 of the attention on key 0, averaged over sequences
  first_attn_std    its standard deviation over sequences (n−1)
  attn_mass_first   Σ_i A[i,0] / T: mean attention key 0 receives from all queries that see it
  dlogit_first      mean over queries of S[i,0] − mean_{j≤i} S[i,j] (scaled scores)
  value_norm_first  ‖W_O^(h) v_0‖, what the head writes when it attends only to key 0
  value_norm_rest   the median over positions k ≥ 1 of ‖W_O^(h) v_k‖
  head_out_norm     mean over queries i ≥ 1 of ‖W_O^(h) z_i‖
  ablation_dloss    (with --ablate) mean over sequences of the next-token loss with the head
                    zeroed minus without; empty/null for heads not ablated
  class             dormant (score ≥ --tau-dormant), active (score < --tau-active) or mixed,
                    under --rule: first_attn, entropy (column entropy × (1 − row entropy))
                    or out_norm (1 − head_out_norm / the layer's mean head_out_norm)

Domains: --domain NAME=PATH (repeatable), and --ids/--text as a one-sequence domain named
"input". Texts are encoded under --bos, cut to --seq-len tokens, and shorter ones skipped
(counted in the summary); "ids" records of a .jsonl domain and --ids are used exactly as
given. Without domains a language model is run on the built-in "prose" and "code" domains,
and a Bigram-Backcopy model on generated sequences split into "trigger" and "non-trigger"
domains by the type of each query's input token. Without MODEL, the built-in
Bigram-Backcopy checkpoint is analysed.

After the rows comes a summary: per domain the number of sequences used and skipped, the
mean loss, the sink rate (share of heads with attn_mass_first > 0.3, Gu et al.), the class
counts, and the active-dormant heads (dormant on one domain and active on another). In
table format the summary follows the table on the output; with --format json or csv the
output holds only the rows and the summary goes to stderr.`,
		Example: `  sinkscope heads
  sinkscope heads ./stories260K_hf
  sinkscope heads ./stories260K_hf --domain wiki=wiki.txt --domain code=./src --format csv -o heads.csv
  sinkscope heads ./stories260K_hf --ids 1,403,407,261,378 --format json
  sinkscope heads ./stories260K_hf --ablate all --plot heads.png`,
	}
	f.in.register(c)
	f.format = formatFlag(c, "table")
	fl := c.Flags()
	fl.StringVar(&f.rule, "rule", "first_attn", "classification rule: first_attn, entropy or out_norm")
	fl.Float64Var(&f.tauDormant, "tau-dormant", 0.8, "a head is dormant when its score is ≥ this")
	fl.Float64Var(&f.tauActive, "tau-active", 0.5, "a head is active when its score is < this")
	fl.StringVar(&f.ablate, "ablate", "", `measure Δloss of zeroing heads: "all" or a list like 16.25,3.1 (one forward pass per head and sequence)`)
	fl.StringVar(&f.plot, "plot", "", "write a PNG heatmap of first_attn (layer × head) per domain, and the difference of the first two domains")
	fl.StringVarP(&f.output, "output", "o", "", "write the rows (and, for table, the summary) to this file, atomically, instead of stdout")
	fl.IntVar(&f.threads, "threads", 0, "threads per forward pass (0: all cores)")
	c.RunE = func(cmd *cobra.Command, args []string) error { return runHeads(cmd, args, &f) }
	return c
}

// modelRun is one model's analysis.
type modelRun struct {
	label   string
	info    model.Info
	domains []domainSet
	results []metrics.DomainResult
	classes [][]metrics.Class
	first   []string // per domain: what sits at position 0
}

// validate checks the flags heads and diff share and returns the BOS policy,
// the classifier and the heads to ablate (nil for none or "all").
func (f *headsFlags) validate() (bos tokenizer.BOSPolicy, cl metrics.Classifier, ablate []metrics.Head, err error) {
	if err = checkFormat(*f.format); err != nil {
		return
	}
	if bos, err = f.in.check(); err != nil {
		return
	}
	rule, err := metrics.ParseRule(f.rule)
	if err != nil {
		return bos, cl, nil, usageError{err}
	}
	cl = metrics.Classifier{Rule: rule, Dormant: f.tauDormant, Active: f.tauActive}
	if err = cl.Validate(); err != nil {
		return bos, cl, nil, usageError{err}
	}
	if f.ablate != "" && f.ablate != "all" {
		if ablate, err = metrics.ParseHeads(f.ablate); err != nil {
			return bos, cl, nil, usageError{err}
		}
	}
	if f.threads < 0 {
		return bos, cl, nil, usagef("--threads %d: want 0 (all cores) or more", f.threads)
	}
	return bos, cl, ablate, nil
}

func runHeads(cmd *cobra.Command, args []string, f *headsFlags) error {
	defer tightenGC()()
	bos, cl, ablate, err := f.validate()
	if err != nil {
		return err
	}
	srcs, err := f.in.readSources()
	if err != nil {
		return err
	}
	models := args
	if len(models) == 0 {
		models = []string{builtinModel}
	}
	stderr := cmd.ErrOrStderr()
	var runs []*modelRun
	for _, arg := range models {
		run, err := analyseModel(arg, f, srcs, bos, cl, ablate, stderr)
		if err != nil {
			return err
		}
		runs = append(runs, run)
	}
	rec := headRecords(runs, f.ablate != "")
	var out, summary bytes.Buffer
	if err := rec.write(&out, *f.format); err != nil {
		return err
	}
	writeSummary(&summary, runs, cl)
	if *f.format == "table" {
		out.WriteString("\n")
		out.Write(summary.Bytes())
	} else {
		stderr.Write(summary.Bytes())
	}
	if f.plot != "" {
		png, err := plotHeads(runs)
		if err != nil {
			return err
		}
		if err := atomicfile.WriteFile(f.plot, png); err != nil {
			return err
		}
	}
	if f.output != "" {
		return atomicfile.WriteFile(f.output, out.Bytes())
	}
	_, err = cmd.OutOrStdout().Write(out.Bytes())
	return err
}

// analyseModel opens one model and reduces every domain.
func analyseModel(arg string, f *headsFlags, srcs []source, bos tokenizer.BOSPolicy, cl metrics.Classifier, ablate []metrics.Head, stderr io.Writer) (*modelRun, error) {
	m, tok, closeFn, err := openAnalysisModel(arg, f.threads)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	info := m.Info()
	run := &modelRun{label: arg, info: info}
	if run.domains, err = f.in.modelDomains(m, arg, tok, bos, srcs); err != nil {
		return nil, err
	}
	heads := ablate
	if f.ablate == "all" {
		heads = metrics.AllHeads(info)
	}
	for _, h := range heads {
		if h.Layer >= info.Layers || h.Head >= info.Heads {
			return nil, usagef("--ablate: head %v is outside %s (%d layers × %d heads)", h, arg, info.Layers, info.Heads)
		}
	}
	total := 0
	for _, d := range run.domains {
		total += d.n * (1 + len(heads))
	}
	bosID, bosName, hasBOS := firstToken(m, tok)
	bar := newProgress(stderr, fmt.Sprintf("%s: %d forward passes", arg, total), total)
	defer bar.finish()
	for _, d := range run.domains {
		acc, err := metrics.NewAccumulator(m, metrics.Options{Ablate: heads, Progress: bar.step})
		if err != nil {
			return nil, fmt.Errorf("%s: --ablate: %w", arg, err)
		}
		i, withBOS := 0, 0
		err = d.each(func(s metrics.Sequence) error {
			i++
			if hasBOS && s.IDs[0] == bosID {
				withBOS++
			}
			if err := acc.Add(s); err != nil {
				return fmt.Errorf("%s: domain %q, sequence %d: %w", arg, d.name, i, err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		res := acc.Result()
		run.results = append(run.results, res)
		run.classes = append(run.classes, cl.Classify(&res))
		run.first = append(run.first, firstTokenNote(bosID, bosName, hasBOS, withBOS, d.n))
	}
	return run, nil
}

// plural writes n and word, with an s unless n is 1.
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// firstToken is the token a sequence should start with: the BOS token of
// the tokenizer or of the Bigram-Backcopy task, if there is one.
func firstToken(m model.Model, tok *tokenizer.Tokenizer) (id int, name string, ok bool) {
	switch {
	case tok != nil:
		if id, ok = tok.BOS(); ok {
			name = tok.Token(id)
		}
	case isToy(m):
		task := m.(*bbtoy.Model).Task()
		id, ok = task.BOS(), true
		name = task.Token(id)
	}
	return id, name, ok
}

// firstTokenNote says which token sits at position 0 of a domain's n
// sequences, withBOS of which start with the BOS token: the BOS token in how
// many sequences, or that the first token is a content token.
func firstTokenNote(bos int, name string, hasBOS bool, withBOS, n int) string {
	switch {
	case !hasBOS:
		return "a content token (no BOS token is defined)"
	case withBOS == 0:
		return fmt.Sprintf("a content token in every sequence (BOS %q, id %d, is never first)", name, bos)
	case withBOS == n:
		return fmt.Sprintf("BOS %q (id %d) in every sequence", name, bos)
	}
	return fmt.Sprintf("BOS %q (id %d) in %d of %d sequences, a content token in the rest", name, bos, withBOS, n)
}

// headRecords lays out the rows: one per (model, domain, layer, head).
func headRecords(runs []*modelRun, withAblation bool) *records {
	fields := []string{"domain", "layer", "head", "n_seqs", "first_attn", "first_attn_std", "attn_mass_first",
		"dlogit_first", "value_norm_first", "value_norm_rest", "head_out_norm"}
	if withAblation {
		fields = append(fields, "ablation_dloss")
	}
	fields = append(fields, "class")
	multi := len(runs) > 1
	if multi {
		fields = append([]string{"model"}, fields...)
	}
	rec := &records{fields: fields}
	for _, run := range runs {
		for j, d := range run.domains {
			res := &run.results[j]
			for i, r := range res.HeadRes {
				row := []any{d.name, r.Layer, r.Head, r.NSeqs, r.FirstAttn, r.FirstAttnStd, r.AttnMassFirst(),
					r.DLogitFirst, r.ValueNormFirst, r.ValueNormRest, r.HeadOutNorm}
				if withAblation {
					if r.Ablated {
						row = append(row, r.AblationDLoss)
					} else {
						row = append(row, nil)
					}
				}
				row = append(row, string(run.classes[j][i]))
				if multi {
					row = append([]any{run.label}, row...)
				}
				rec.add(row...)
			}
		}
	}
	return rec
}

// writeSummary prints the per-domain counts and the active-dormant heads.
func writeSummary(w io.Writer, runs []*modelRun, cl metrics.Classifier) {
	for _, run := range runs {
		fmt.Fprintf(w, "%s (%s, %s × %s), rule %s (dormant ≥ %g, active < %g):\n",
			run.label, run.info.Arch, plural(run.info.Layers, "layer"), plural(run.info.Heads, "head"), cl.Rule, cl.Dormant, cl.Active)
		var names []string
		for j, d := range run.domains {
			res := run.results[j]
			counts := map[metrics.Class]int{}
			for _, c := range run.classes[j] {
				counts[c]++
			}
			what := plural(res.NSeqs, "sequence")
			if d.note != "" {
				what += " (" + d.note + ")"
			}
			if d.skipped > 0 {
				what += fmt.Sprintf(", %d texts shorter than --seq-len skipped", d.skipped)
			}
			if res.Skipped > 0 {
				what += fmt.Sprintf(", %d without a counted query skipped", res.Skipped)
			}
			fmt.Fprintf(w, "  domain %s: %s; loss %.4f; sink rate (ε=0.3) %.3f; dormant %d, mixed %d, active %d\n",
				d.name, what, res.Loss, res.SinkRate(metrics.SinkEps), counts[metrics.Dormant], counts[metrics.Mixed], counts[metrics.Active])
			fmt.Fprintf(w, "    position 0: %s\n", run.first[j])
			var peaks []string
			massive, massive0 := 0, 0
			for _, lr := range res.Resid {
				peaks = append(peaks, fmt.Sprintf("%.2f", lr.PeakRatio))
				massive += lr.Massive
				massive0 += lr.MassiveFirst
			}
			fmt.Fprintf(w, "    residual peak ‖x₀‖/median ‖x_k‖ by layer: %s; massive activations: %d (%d at position 0)\n",
				strings.Join(peaks, " "), massive, massive0)
			names = append(names, d.name)
		}
		sw := metrics.ActiveDormant(names, run.classes, run.info.Heads)
		if len(run.domains) < 2 {
			fmt.Fprintf(w, "  active-dormant heads: need at least two domains\n")
			continue
		}
		if len(sw) == 0 {
			fmt.Fprintf(w, "  active-dormant heads: none\n")
			continue
		}
		fmt.Fprintf(w, "  active-dormant heads (dormant on one domain, active on another): %d\n", len(sw))
		for _, s := range sw {
			fmt.Fprintf(w, "    %-6s dormant on %s; active on %s\n", s.Head, strings.Join(s.DormantOn, ", "), strings.Join(s.ActiveOn, ", "))
		}
	}
}

// openAnalysisModel opens a model argument (a checkpoint directory,
// org/name[@revision] in the Hugging Face cache, or builtin:bbtoy) through
// sinkscope.Open, with its tokenizer (nil when it has none). closer releases
// the checkpoint.
func openAnalysisModel(arg string, threads int) (m model.Model, tok *tokenizer.Tokenizer, closer func() error, err error) {
	var ck *loader.Checkpoint
	if arg == builtinModel {
		if ck, err = openBuiltinToy(); err == nil {
			if m, err = sinkscope.New(ck, threads); err != nil {
				ck.Close()
			}
		}
	} else {
		m, ck, err = sinkscope.Open(arg, threads)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if ck.TokenizerPath != "" {
		if tok, err = ck.Tokenizer(); err != nil {
			ck.Close()
			return nil, nil, nil, err
		}
	}
	return m, tok, ck.Close, nil
}

// openBuiltinToy opens the Bigram-Backcopy checkpoint embedded in the binary.
func openBuiltinToy() (*loader.Checkpoint, error) {
	ck, err := loader.OpenFS(bbtoy.Builtin(), ".")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", builtinModel, err)
	}
	return ck, nil
}

// progress draws a bar with an ETA on stderr when stderr is a terminal, and
// nothing otherwise.
type progress struct {
	w           io.Writer
	label       string
	total, done int
	start, last time.Time
}

func newProgress(w io.Writer, label string, total int) *progress {
	f, ok := w.(*os.File)
	if !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) || total == 0 {
		return &progress{}
	}
	return &progress{w: w, label: label, total: total, start: time.Now()}
}

func (p *progress) step() {
	if p.w == nil {
		return
	}
	p.done++
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond && p.done < p.total {
		return
	}
	p.last = now
	frac := float64(p.done) / float64(p.total)
	const width = 30
	n := int(frac * width)
	eta := "?"
	if p.done > 0 {
		el := now.Sub(p.start)
		eta = time.Duration(float64(el) * (1 - frac) / frac).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %d/%d ETA %s ", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, p.done, p.total, eta)
}

func (p *progress) finish() {
	if p.w != nil && p.done > 0 {
		fmt.Fprintln(p.w)
	}
}
