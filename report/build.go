package report

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/tokenizer"
)

// DefaultPatternBudget is the number of pattern cells (bytes) kept when the
// heads to keep are chosen automatically: with the grid, the value norms and
// the token statistics, a 32-layer × 32-head model with 4 domains and 4
// samples of 256 tokens stays under 5 MB.
const DefaultPatternBudget = 1 << 20

// Config says what a report shows and where it comes from.
type Config struct {
	// Model is the checkpoint (directory, org/name[@revision] or
	// sinkscope.Builtin) that is analysed, unless Rows are given, and that
	// runs the sample sequences. Empty only with Rows: the page then has
	// no head or token view.
	Model   string
	Threads int // goroutines of a forward pass (0: one per CPU)
	// Sources and Heads are the analysis to run (analysis.Run); Sources
	// also supply the sample sequences.
	Sources *analysis.Sources
	Heads   analysis.HeadOptions
	// Rows, when not empty, is a file of `heads` or `diff` JSON Lines that
	// replaces running the analysis.
	Rows string
	// Classifier is the rule and thresholds the page opens with.
	Classifier metrics.Classifier

	// SampleIDs and SampleTexts are sample sequences given explicitly
	// (texts are encoded under BOS); without them the first sequences of
	// the domains are used, Samples (default 2) of them, taken from each
	// domain in turn, duplicates skipped.
	SampleIDs   [][]int
	SampleTexts []string
	BOS         tokenizer.BOSPolicy
	Samples     int
	// PatternHeads are the heads whose patterns are kept; nil chooses
	// heads, at least one, within PatternBudget bytes (0: the default;
	// negative: every head):
	// heads whose class differs between domains first, then the most
	// dormant and the most active in turn.
	PatternHeads  []metrics.Head
	PatternBudget int

	// Progress, when not nil, makes progress bars, as for analysis.Run.
	Progress func(label string, total int) (step, done func())
}

// Make builds the report and returns its HTML.
func Make(c Config) ([]byte, error) {
	if err := c.Classifier.Validate(); err != nil {
		return nil, analysis.OptionError{Err: err}
	}
	if c.Model == "" && c.Rows == "" {
		return nil, analysis.OptionError{Err: errors.New("report: give a model to analyse, or rows of heads or diff JSON")}
	}
	var g *Grids
	if c.Rows != "" {
		f, err := os.Open(c.Rows)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		g, err = ReadRows(f, c.Rows)
		f.Close()
		if err != nil {
			return nil, err
		}
	} else {
		rep, err := analysis.Run(c.Model, c.Threads, c.Sources, c.Heads, c.Progress)
		if err != nil {
			return nil, err
		}
		g = FromReport(rep)
	}
	var samples []Sample
	if c.Model != "" {
		m, err := analysis.Open(c.Model, c.Threads)
		if err != nil {
			return nil, err
		}
		defer m.Close()
		info := m.Info()
		if c.Rows != "" {
			if g.Layers != info.Layers || g.Heads != info.Heads {
				return nil, fmt.Errorf("report: %s has %d layers × %d heads, but %s is %d × %d", c.Rows, g.Layers, g.Heads, c.Model, info.Layers, info.Heads)
			}
			g.Arch = info.Arch
			if g.Model == "" {
				g.Model = c.Model
			}
		}
		specs, err := c.sampleSpecs(m)
		if err != nil {
			return nil, err
		}
		want, err := c.patternHeads(g, specs, info.Layers, info.Heads)
		if err != nil {
			return nil, err
		}
		if samples, err = Capture(m, specs, want); err != nil {
			return nil, err
		}
	}
	if g.Model == "" {
		g.Model = c.Rows
	}
	p := NewPage(g, c.Classifier, samples)
	var b bytes.Buffer
	if err := p.WriteHTML(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// NewPage lays out the grids and samples as a page that opens with the
// classifier cl.
func NewPage(g *Grids, cl metrics.Classifier, samples []Sample) *Page {
	if samples == nil {
		samples = []Sample{}
	}
	steps := g.Steps
	if steps == nil {
		steps = []Step{}
	}
	return &Page{
		Title: "sinkscope report: " + g.Model, Model: g.Model, Arch: g.Arch, Layers: g.Layers, Heads: g.Heads,
		Metrics: metricList(g.ablated()), Rule: cl.Rule.String(), Dormant: Num(cl.Dormant), Active: Num(cl.Active),
		Domains: g.Domains, Steps: steps, Samples: samples, Quantisation: quantisationNote,
	}
}

// errEnough stops a domain's walk once its samples are taken.
var errEnough = errors.New("enough samples")

// sampleSpecs returns the explicit samples, or the first sequences of the
// domains.
func (c *Config) sampleSpecs(m *analysis.Model) ([]SampleSpec, error) {
	info := m.Info()
	var specs []SampleSpec
	for i, ids := range c.SampleIDs {
		specs = append(specs, SampleSpec{Name: fmt.Sprintf("--sample-ids #%d", i+1), IDs: ids})
	}
	for i, text := range c.SampleTexts {
		if m.Tokenizer == nil {
			return nil, fmt.Errorf("report: %s has no tokenizer: give --sample-ids instead of --sample-text", c.Model)
		}
		ids, err := m.Tokenizer.EncodeBOS(text, c.BOS)
		if err != nil {
			return nil, fmt.Errorf("report: --sample-text #%d: %w", i+1, err)
		}
		specs = append(specs, SampleSpec{Name: fmt.Sprintf("--sample-text #%d", i+1), IDs: ids})
	}
	for _, s := range specs {
		if len(s.IDs) < 2 {
			return nil, analysis.OptionError{Err: fmt.Errorf("report: sample %s has %d token(s): need at least 2", s.Name, len(s.IDs))}
		}
		for _, id := range s.IDs {
			if id < 0 || id >= info.Vocab {
				return nil, analysis.OptionError{Err: fmt.Errorf("report: sample %s: token id %d outside the vocabulary of %s (%d)", s.Name, id, c.Model, info.Vocab)}
			}
		}
		if info.MaxSeqLen > 0 && len(s.IDs) > info.MaxSeqLen {
			return nil, analysis.OptionError{Err: fmt.Errorf("report: sample %s has %d tokens, more than the context of %s (%d)", s.Name, len(s.IDs), c.Model, info.MaxSeqLen)}
		}
	}
	if len(specs) > 0 || c.Sources == nil {
		return specs, nil
	}
	n := c.Samples
	if n == 0 {
		n = 2
	}
	doms, err := c.Sources.For(m)
	if err != nil {
		return nil, err
	}
	perDomain := make([][]SampleSpec, len(doms))
	for j, d := range doms {
		i := 0
		err := d.Each(func(s metrics.Sequence) error {
			if i == n {
				return errEnough
			}
			i++
			perDomain[j] = append(perDomain[j], SampleSpec{Name: fmt.Sprintf("%s #%d", d.Name, i), IDs: append([]int(nil), s.IDs...)})
			return nil
		})
		if err != nil && !errors.Is(err, errEnough) {
			return nil, err
		}
	}
	for i := 0; len(specs) < n; i++ {
		more := false
		for _, ds := range perDomain {
			if i >= len(ds) || len(specs) == n {
				continue
			}
			more = true
			if !slices.ContainsFunc(specs, func(s SampleSpec) bool { return slices.Equal(s.IDs, ds[i].IDs) }) {
				specs = append(specs, ds[i])
			}
		}
		if !more {
			break
		}
	}
	return specs, nil
}

// patternHeads decides which heads' patterns to keep.
func (c *Config) patternHeads(g *Grids, specs []SampleSpec, layers, heads int) (func(sample, head int) bool, error) {
	keep := map[int]bool{}
	if c.PatternHeads != nil {
		for _, h := range c.PatternHeads {
			if h.Layer < 0 || h.Layer >= layers || h.Head < 0 || h.Head >= heads {
				return nil, analysis.OptionError{Err: fmt.Errorf("report: pattern head %v is outside %s (%d layers × %d heads)", h, c.Model, layers, heads)}
			}
			keep[h.Layer*heads+h.Head] = true
		}
		return func(_, i int) bool { return keep[i] }, nil
	}
	budget := c.PatternBudget
	if budget < 0 {
		return func(int, int) bool { return true }, nil
	}
	if budget == 0 {
		budget = DefaultPatternBudget
	}
	per := 0 // bytes of one head's patterns over every sample
	for _, s := range specs {
		per += len(s.IDs) * (len(s.IDs) + 1) / 2
	}
	for n, i := range Interest(g, layers*heads) {
		if n > 0 && (n+1)*per > budget {
			break
		}
		keep[i] = true
	}
	return func(_, i int) bool { return keep[i] }, nil
}

// Interest orders every head (layer-major index) by how much its pattern
// has to show: heads whose first_attn class differs between domains, then
// the most dormant and the most active in turn (by first_attn averaged over
// domains), ties by index.
func Interest(g *Grids, n int) []int {
	mean := make([]float64, n)
	lo, hi := make([]float64, n), make([]float64, n)
	for i := range n {
		lo[i], hi[i] = math.Inf(1), math.Inf(-1)
		cnt := 0
		for _, d := range g.Domains {
			v := d.Values["first_attn"]
			if i >= len(v) || math.IsNaN(float64(v[i])) {
				continue
			}
			x := float64(v[i])
			mean[i] += x
			lo[i], hi[i] = math.Min(lo[i], x), math.Max(hi[i], x)
			cnt++
		}
		if cnt == 0 {
			mean[i] = math.NaN()
		} else {
			mean[i] /= float64(cnt)
		}
	}
	cl := metrics.DefaultClassifier()
	var out []int
	seen := make([]bool, n)
	for i := range n {
		if cnt := cl.Class(lo[i]) != cl.Class(hi[i]); cnt && !math.IsInf(lo[i], 0) {
			out, seen[i] = append(out, i), true
		}
	}
	byMean := make([]int, n)
	for i := range byMean {
		byMean[i] = i
	}
	key := func(i int) float64 {
		if math.IsNaN(mean[i]) {
			return -1
		}
		return mean[i]
	}
	sort.SliceStable(byMean, func(a, b int) bool { return key(byMean[a]) > key(byMean[b]) })
	for a, b := 0, n-1; a <= b; a, b = a+1, b-1 {
		for _, i := range []int{byMean[a], byMean[b]} {
			if !seen[i] {
				out, seen[i] = append(out, i), true
			}
		}
	}
	return out
}
