package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/loader"
)

// Experiments reproduced by Reproduce.
const (
	ExpSink = "sink" // 1 layer, softmax, AdamW: sink, value drain and Δlogit growth (PAPER §1.7)
	ExpReLU = "relu" // softmax vs ReLU attention (PAPER §4.1)
	ExpSGD  = "sgd"  // 3 layers, AdamW vs SGD at matched learning: the residual-state peak (PAPER §4.2)
	// ExpMinimal is the minimal residual-peak structure (PAPER §4.3): 3
	// layers, no attention in layer 2, measured whole and with layer 0 removed.
	ExpMinimal = "minimal"
)

// sgdGrid is the default learning-rate grid the sgd experiment searches, in
// order, until SGD learns the task within the step budget (the paper's lr
// first).
func sgdGrid() []float64 { return []float64{0.03, 0.1, 0.3} }

// ReproOptions scales an experiment to the machine. Zero fields take the
// experiment's defaults (d 64, batch 64; steps 3000 sink, 800 relu, 4000 sgd,
// 3000 minimal).
type ReproOptions struct {
	Dir       string // runs go to Dir/<run>/ (dynamics.jsonl, checkpoints); plots to Dir/*.png
	D         int
	Batch     int
	Steps     int
	Seed      uint64
	Threads   int
	EvalEvery int // default 50
	EvalBatch int // default 128
	Progress  io.Writer
	// The sgd experiment trains each optimiser until its backcopy risk and
	// bigram excess risk are both ≤ Threshold (default 0.05), searching at
	// most Steps steps, then After more steps (default 1000), the same for
	// both optimisers.
	Threshold float64
	After     int
	SGDRates  []float64 // the learning rates SGD tries, in order (default 0.03, 0.1, 0.3)
	// Reuse takes a run's records from an existing Dir/<run>/dynamics.jsonl
	// that reaches Steps instead of training it again (records after Steps
	// are dropped). The caller vouches that it was trained with the same
	// configuration (e.g. the relu experiment's softmax run is the first 800
	// steps of the sink experiment's run).
	Reuse bool
}

// Check compares one measured number with the acceptance bound, the PyTorch
// anchor (the same training in PyTorch, same configuration) and the paper.
type Check struct {
	Run    string
	Metric string
	Step   int
	Value  float64
	Want   string // the acceptance bound
	Anchor string // PyTorch anchor (bench/bb_torch.py, same configuration), with its pooling where it differs from Value's
	Paper  string // the paper's number (d 256, batch 512, lr 3e-4)
	Pass   bool
}

// PaperRow is one row of a table from the paper next to ours at the same step
// (ours is the last record at or before the step; the run's last step is
// added with Paper NaN when the paper has no row for it).
type PaperRow struct {
	Run    string
	Step   int
	Metric string
	Ours   float64 // NaN when the run did not reach the step
	Paper  float64
}

// ReproResult is what an experiment measured.
type ReproResult struct {
	Experiment string
	Runs       map[string][]Record
	Checks     []Check
	Table      []PaperRow
	Plots      []string
	// Matched holds the sgd experiment's runs at matched learning, by
	// optimiser ("adamw", "sgd"; SGD's is the first learning rate of the
	// grid that learned, or the last one tried).
	Matched map[string]Matched
	// Minimal holds the minimal experiment's measurements at the end of
	// training: "full" and "no layer 0".
	Minimal map[string]MinimalStats
}

// Matched is one optimiser's run in the sgd experiment.
type Matched struct {
	Run       string    // key of its records in ReproResult.Runs
	LR        float64   // learning rate
	Tried     []float64 // learning rates tried, in order (SGD's grid search)
	Reached   bool      // the threshold was met within the step budget
	Threshold Record    // the first record meeting it (zero when not reached)
	End       Record    // the last record
}

type expRun struct {
	name  string
	tc    bbtoy.TrainConfig
	until bool // train to the threshold, then After more steps
}

// Reproduce trains the runs of experiment exp and compares them with the
// paper's numbers and the acceptance bounds.
func Reproduce(ctx context.Context, exp string, o ReproOptions) (*ReproResult, error) {
	task := bbtoy.BuiltinTask()
	if o.D < 0 || o.Batch < 0 || o.Steps < 0 || o.EvalEvery < 0 || o.EvalBatch < 0 || o.After < 0 || o.Threshold < 0 {
		return nil, optionf("d, batch, steps, eval-every, eval batch, after and threshold must be positive (or 0 for the experiment's default)")
	}
	for _, lr := range o.SGDRates {
		if !(lr > 0) || math.IsInf(lr, 1) {
			return nil, optionf("SGD learning rate %g: want a positive number", lr)
		}
	}
	if len(o.SGDRates) == 0 {
		o.SGDRates = sgdGrid()
	}
	if o.D == 0 {
		o.D = 64
	}
	if o.Batch == 0 {
		o.Batch = 64
	}
	if o.Seed == 0 {
		o.Seed = 42
	}
	if o.EvalEvery == 0 {
		o.EvalEvery = 50
	}
	if o.EvalBatch == 0 {
		o.EvalBatch = 128
	}
	mk := func(name string, layers int, attn string, opt bbtoy.OptimConfig) expRun {
		c := bbtoy.DefaultConfig(task, o.D, layers)
		c.Attention = attn
		return expRun{name: name, tc: bbtoy.TrainConfig{Model: c, Optim: opt, Batch: o.Batch, Seed: o.Seed, Threads: o.Threads}}
	}
	var runs []expRun
	switch exp {
	case ExpSink:
		runs = []expRun{mk("softmax", 1, bbtoy.Softmax, bbtoy.DefaultAdamW(1e-3))}
		if o.Steps == 0 {
			o.Steps = 3000
		}
	case ExpReLU:
		runs = []expRun{mk("softmax", 1, bbtoy.Softmax, bbtoy.DefaultAdamW(1e-3)), mk("relu", 1, bbtoy.ReLU, bbtoy.DefaultAdamW(1e-3))}
		if o.Steps == 0 {
			o.Steps = 800
		}
	case ExpSGD:
		if o.Steps == 0 {
			o.Steps = 4000
		}
		if o.After == 0 {
			o.After = 1000
		}
		if o.Threshold == 0 {
			o.Threshold = 0.05
		}
		a := mk("adamw", 3, bbtoy.Softmax, bbtoy.DefaultAdamW(1e-3))
		a.until = true
		runs = []expRun{a}
	case ExpMinimal:
		r := mk("minimal", 3, bbtoy.Softmax, bbtoy.DefaultAdamW(1e-3))
		r.tc.Model.NoAttn[2] = true
		runs = []expRun{r}
		if o.Steps == 0 {
			o.Steps = 3000
		}
	default:
		return nil, optionf("experiment %q, want %s, %s, %s or %s", exp, ExpSink, ExpReLU, ExpSGD, ExpMinimal)
	}
	res := &ReproResult{Experiment: exp, Runs: map[string][]Record{}}
	ev := NewEvaluator(task, o.EvalBatch, 42, o.Threads)
	until := func(r Record) bool { return r.BackcopyRisk <= o.Threshold && r.BigramExcess <= o.Threshold }
	train := func(r expRun) ([]Record, error) {
		dir := filepath.Join(o.Dir, r.name)
		var u func(Record) bool
		if r.until {
			u = until
		}
		if o.Reuse {
			path := filepath.Join(dir, "dynamics.jsonl")
			recs, err := ReadDynamics(path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return nil, fmt.Errorf("%w; remove it, or run without --reuse", err)
			case len(recs) > 0 && len(recs[0].Layers) != r.tc.Model.Layers:
				return nil, fmt.Errorf("bbtoy: %s: records of %d layers, the %s run has %d: not this run's log; remove it, or run without --reuse",
					path, len(recs[0].Layers), r.name, r.tc.Model.Layers)
			default:
				if recs, ok := reusable(recs, o.Steps, o.After, u); ok {
					if o.Progress != nil {
						fmt.Fprintf(o.Progress, "== %s: reusing %d records of dynamics.jsonl up to step %d\n", dir, len(recs), recs[len(recs)-1].Step)
					}
					res.Runs[r.name] = recs
					return recs, nil
				}
			}
		}
		recs, err := trainLogged(ctx, task, r.tc, ev, o, dir, u)
		if err != nil {
			return nil, err
		}
		res.Runs[r.name] = recs
		return recs, nil
	}
	for _, r := range runs {
		if _, err := train(r); err != nil {
			return nil, err
		}
	}
	switch exp {
	case ExpSGD:
		res.Matched = map[string]Matched{"adamw": matched("adamw", 1e-3, res.Runs["adamw"], until)}
		sg := Matched{}
		for _, lr := range o.SGDRates {
			r := mk(fmt.Sprintf("sgd-lr%g", lr), 3, bbtoy.Softmax, bbtoy.DefaultSGD(lr))
			r.until = true
			recs, err := train(r)
			if err != nil {
				return nil, err
			}
			tried := append(sg.Tried, lr)
			sg = matched(r.name, lr, recs, until)
			sg.Tried = tried
			if sg.Reached {
				break
			}
		}
		res.Matched["sgd"] = sg
	case ExpMinimal:
		if err := res.measureMinimal(ev, o.Dir); err != nil {
			return nil, err
		}
	}
	res.compare()
	if err := res.plot(o.Dir); err != nil {
		return nil, err
	}
	return res, nil
}

// reusable returns the records of a log that covers a run of at most steps
// (with until: up to its threshold plus after steps, or steps when it never
// met the threshold), cut where that run would have stopped.
func reusable(recs []Record, steps, after int, until func(Record) bool) ([]Record, bool) {
	end := steps
	if until != nil {
		if th, ok := Threshold(recs, until); ok && th.Step <= steps {
			end = th.Step + after
		}
	}
	if len(recs) == 0 || recs[len(recs)-1].Step < end {
		return nil, false
	}
	for len(recs) > 0 && recs[len(recs)-1].Step > end {
		recs = recs[:len(recs)-1]
	}
	return recs, true
}

// matched summarises one optimiser's run at matched learning.
func matched(run string, lr float64, recs []Record, until func(Record) bool) Matched {
	mr := Matched{Run: run, LR: lr, Tried: []float64{lr}, End: recs[len(recs)-1]}
	mr.Threshold, mr.Reached = Threshold(recs, until)
	return mr
}

// measureMinimal loads the minimal run's final checkpoint and measures it
// whole and with layer 0 removed.
func (res *ReproResult) measureMinimal(ev *Evaluator, dir string) error {
	recs := res.Runs["minimal"]
	ck, err := loader.Open(CheckpointDir(filepath.Join(dir, "minimal"), recs[len(recs)-1].Step))
	if err != nil {
		return err
	}
	defer ck.Close()
	m, err := bbtoy.New(ck)
	if err != nil {
		return err
	}
	res.Minimal = map[string]MinimalStats{}
	for name, hs := range map[string]*hooks.Set{"full": nil, "no layer 0": RemoveLayer0()} {
		st, err := ev.MeasureMinimal(m, hs)
		if err != nil {
			return err
		}
		res.Minimal[name] = st
	}
	return nil
}

// trainLogged runs one training into dir with its dynamics log and a final
// checkpoint; with until, it stops After steps after the threshold.
func trainLogged(ctx context.Context, task *bbtoy.Task, tc bbtoy.TrainConfig, ev *Evaluator, o ReproOptions, dir string, until func(Record) bool) ([]Record, error) {
	tr, err := bbtoy.NewTrainer(task, tc)
	if err != nil {
		return nil, err
	}
	if o.Progress != nil {
		steps := fmt.Sprintf("%d steps", o.Steps)
		if until != nil {
			steps = fmt.Sprintf("to the threshold %g (at most %d steps), then %d more", o.Threshold, o.Steps, o.After)
		}
		fmt.Fprintf(o.Progress, "== %s: %d layer(s), d %d, batch %d, %s attention, %s lr %g, %s\n", dir,
			tc.Model.Layers, tc.Model.D, tc.Batch, tc.Model.Attention, tc.Optim.Name, tc.Optim.LR, steps)
	}
	rc := RunConfig{Steps: o.Steps, EvalEvery: o.EvalEvery, Eval: ev, Checkpoints: []int{o.Steps},
		Dir: dir, Progress: o.Progress, Command: "sinkscope bbtoy reproduce"}
	if until != nil {
		rc.Until, rc.After, rc.Checkpoints = until, o.After, nil
	}
	return runLogged(ctx, tr, rc)
}

// ReadDynamics reads a dynamics.jsonl file. Its records must be those of
// one run: steps that increase from a non-negative first one, and the same
// number (at least one) of layers in every record.
func ReadDynamics(path string) ([]Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bbtoy: %w", err)
	}
	dec := json.NewDecoder(bytesReader(b))
	var out []Record
	for dec.More() {
		var r Record
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("bbtoy: %s: record %d: %w", path, len(out)+1, err)
		}
		n := len(out)
		switch {
		case len(r.Layers) == 0:
			err = fmt.Errorf("no layers")
		case n > 0 && len(r.Layers) != len(out[0].Layers):
			err = fmt.Errorf("%d layers, record 1 has %d", len(r.Layers), len(out[0].Layers))
		case n == 0 && r.Step < 0:
			err = fmt.Errorf("step %d is negative", r.Step)
		case n > 0 && r.Step <= out[n-1].Step:
			err = fmt.Errorf("step %d after step %d, want increasing steps", r.Step, out[n-1].Step)
		}
		if err != nil {
			return nil, fmt.Errorf("bbtoy: %s: record %d: %w (not one run's dynamics log)", path, n+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// at returns the record of the given step (the last one at or before it).
func at(recs []Record, step int) (Record, bool) {
	var best Record
	ok := false
	for _, r := range recs {
		if r.Step <= step {
			best, ok = r, true
		}
	}
	return best, ok
}

func maxOf(recs []Record, f func(Record) float64) float64 {
	m := math.Inf(-1)
	for _, r := range recs {
		m = max(m, f(r))
	}
	return m
}

func (res *ReproResult) check(run, metric string, step int, v float64, want string, ok bool, anchor, paper string) {
	res.Checks = append(res.Checks, Check{Run: run, Metric: metric, Step: step, Value: v, Want: want, Pass: ok, Anchor: anchor, Paper: paper})
}

// paper tables (PAPER §1.7, §4.1, §4.2), by the dynamics log field that
// holds our number.
var (
	paperSinkSteps = []int{0, 100, 140, 200, 300, 600, 1000, 2000, 10000}
	paperSink      = map[string][]float64{
		"attn_bos_paper":         {0.023, 0.027, 0.054, 0.223, 0.560, 0.680, 0.779, 0.798, 0.811},
		"value_norm_bos_full_wo": {5.20, 8.71, 9.14, 8.74, 5.52, 4.56, 3.51, 2.65, 1.42},
		"backcopy_risk":          {4.30, 2.62, 2.30, 1.05, 0.44, 0.13, 0.007, 4e-4, 1e-4},
		"bigram_risk":            {4.43, 2.38, 2.32, 2.30, 2.26, 2.237, 2.2324, 2.2302, 2.2292},
		"res_bos_paper":          {24.3, 31.1, 30.5, 28.3, 25.4, 25.7, 27.0, 32.3, 72.2},
	}
	paperDlogitSteps = []int{0, 200, 300, 500, 1000, 2000, 5000, 10000}
	paperDlogit      = []float64{-0.1, 0.9, 3.5, 5.5, 9.7, 11.6, 13.9, 16.8}
	paperReLUSteps   = []int{0, 100, 500, 1000, 2000}
	paperReLU        = map[string][]float64{
		"attn_bos_paper":         {0.0014, 3e-4, 1.2e-5, 0, 0},
		"value_norm_bos_full_wo": {5.2, 74, 44.5, 216, 204},
	}
	paperResSteps = []int{0, 1000, 2000, 3000, 5000, 7000, 10000}
	paperRes      = map[string][]float64{
		"adamw": {24.3, 34.4, 43.2, 51.6, 70.9, 98.9, 140.7},
		"sgd":   {24.3, 29.1, 26.3, 24.9, 23.1, 22.0, 20.4},
	}
)

func (res *ReproResult) table(run string, steps []int, metric string, paper []float64, f func(Record) float64) {
	res.tableOf(run, res.Runs[run], steps, metric, paper, f)
}

// tableOf is table on the records recs, listed under run.
func (res *ReproResult) tableOf(run string, recs []Record, steps []int, metric string, paper []float64, f func(Record) float64) {
	last := recs[len(recs)-1].Step
	for i, s := range steps {
		v := math.NaN()
		if r, ok := at(recs, s); ok && s <= last {
			v = f(r)
		}
		res.Table = append(res.Table, PaperRow{Run: run, Step: s, Metric: metric, Ours: v, Paper: paper[i]})
	}
	if !slices.Contains(steps, last) {
		res.Table = append(res.Table, PaperRow{Run: run, Step: last, Metric: metric, Ours: f(recs[len(recs)-1]), Paper: math.NaN()})
		slices.SortStableFunc(res.Table[len(res.Table)-len(steps)-1:], func(a, b PaperRow) int { return a.Step - b.Step })
	}
}

func (res *ReproResult) compare() {
	l0 := func(f func(LayerRecord) float64) func(Record) float64 {
		return func(r Record) float64 { return f(r.Layers[0]) }
	}
	// Checks on the paper's quantities (Attn_BOS, ‖W_O v_BOS‖, Δlogit_BOS,
	// ‖Res_BOS‖) use the paper's pooling, as the Paper column does; checks on
	// the trigger queries, for which the paper gives no pooled number, use
	// sinkscope's statistics. bench/bb_torch.py pools its attention and
	// Δlogit numbers differently (over the batch's queries i ≥ 1, or i ≥ 2
	// for Δlogit, without query 0 and not by token type); the Anchor says so.
	attnBOS := l0(func(l LayerRecord) float64 { return l.AttnBOSPaper })
	vnorm := l0(func(l LayerRecord) float64 { return l.ValueNormBOSFullWO })
	dlogit := l0(func(l LayerRecord) float64 { return l.DLogitPaperMean })
	resBOS := l0(func(l LayerRecord) float64 { return l.ResBOSPaper })
	switch res.Experiment {
	case ExpSink:
		recs := res.Runs["softmax"]
		last := recs[len(recs)-1]
		L := last.Layers[0]
		s := last.Step
		peak := maxOf(recs, vnorm)
		res.check("softmax", "Attn_BOS, non-trigger queries", s, L.AttnBOSPaper, "≥ 0.85", L.AttnBOSPaper >= 0.85, "0.93 (pooled, i ≥ 1)", "0.78 @1k, 0.87 @100k")
		res.check("softmax", "‖W_O v_BOS‖ / its peak", s, L.ValueNormBOSFullWO/peak, "≤ 0.6", L.ValueNormBOSFullWO <= 0.6*peak, "0.45", "3.51/9.14 = 0.38 @1k")
		res.check("softmax", "mean Δlogit_BOS, non-trigger types", s, L.DLogitPaperMean, "≥ 20", L.DLogitPaperMean >= 20, "30 (pooled over queries i ≥ 2)", "9.7 @1k, 16.8 @10k")
		if r1, ok := at(recs, 1000); ok && s > 1000 {
			d1 := r1.Layers[0].DLogitPaperMean
			res.check("softmax", "Δlogit_BOS(last) − Δlogit_BOS(1000)", s, L.DLogitPaperMean-d1, "> 0", L.DLogitPaperMean > d1, "rising", "9.7 → 11.6 (1k → 2k)")
		}
		res.check("softmax", "bigram excess risk", s, last.BigramExcess, "≤ 0.03", last.BigramExcess <= 0.03, "0.012", "≈ 0 @1k")
		res.check("softmax", "backcopy risk", s, last.BackcopyRisk, "≤ 0.4", last.BackcopyRisk <= 0.4, "0.23", "0.007 @1k")
		res.check("softmax", "prev_attn, trigger queries", s, L.PrevAttnTrigger, "≥ 0.6", L.PrevAttnTrigger >= 0.6, "0.81 (pooled)", "≈ 1 (active)")
		res.check("softmax", "first_attn, trigger queries", s, L.FirstAttnTrigger, "≤ 0.05", L.FirstAttnTrigger <= 0.05, "0.00 (pooled)", "≈ 0 (active)")
		for _, m := range []struct {
			name string
			f    func(Record) float64
		}{{"attn_bos_paper", attnBOS}, {"value_norm_bos_full_wo", vnorm}, {"backcopy_risk", func(r Record) float64 { return r.BackcopyRisk }},
			{"bigram_risk", func(r Record) float64 { return r.BigramRisk }}, {"res_bos_paper", resBOS}} {
			res.table("softmax", paperSinkSteps, m.name, paperSink[m.name], m.f)
		}
		res.table("softmax", paperDlogitSteps, "dlogit_paper_mean", paperDlogit, dlogit)
	case ExpReLU:
		sm, rl := res.Runs["softmax"], res.Runs["relu"]
		ls, lr := sm[len(sm)-1], rl[len(rl)-1]
		s := lr.Step
		res.check("relu", "Attn_BOS, non-trigger queries", s, lr.Layers[0].AttnBOSPaper, "≤ 0.05", lr.Layers[0].AttnBOSPaper <= 0.05, "0.003 (pooled, i ≥ 1)", "0.0 @1k")
		res.check("softmax", "Attn_BOS, non-trigger queries", ls.Step, ls.Layers[0].AttnBOSPaper, "≥ 0.5", ls.Layers[0].AttnBOSPaper >= 0.5, "0.64 (pooled, i ≥ 1)", "0.78 @1k")
		mx := maxOf(rl, vnorm)
		v := lr.Layers[0].ValueNormBOSFullWO
		res.check("relu", "‖W_O v_BOS‖ / its max", s, v/mx, "≥ 0.8", v >= 0.8*mx, "1.0 (15.9)", "216 @1k (max)")
		vs := ls.Layers[0].ValueNormBOSFullWO
		res.check("relu", "‖W_O v_BOS‖ relu / softmax", s, v/vs, "≥ 3", v >= 3*vs, "15.9/2.8 = 5.7", "216/3.51 = 62 @1k")
		res.check("relu", "backcopy risk", s, lr.BackcopyRisk, "(info)", true, "", "3e-4 @1k")
		res.check("relu", "bigram excess risk", s, lr.BigramExcess, "(info)", true, "", "≈ 0 @1k")
		res.table("relu", paperReLUSteps, "attn_bos_paper", paperReLU["attn_bos_paper"], attnBOS)
		res.table("relu", paperReLUSteps, "value_norm_bos_full_wo", paperReLU["value_norm_bos_full_wo"], vnorm)
	case ExpSGD:
		res.compareSGD()
	case ExpMinimal:
		res.compareMinimal()
	}
}

// ratioAt is layer l's ‖Res_BOS‖ over the median ‖resid_post‖ of the other
// positions; NaN for a zero record (a threshold never reached).
func ratioAt(r Record, l int) float64 {
	if l >= len(r.Layers) {
		return math.NaN()
	}
	return r.Layers[l].ResidNormFirst / r.Layers[l].ResidNormRest
}

func (res *ReproResult) compareSGD() {
	resBOS := func(r Record) float64 { return r.Layers[0].ResBOSPaper }
	for _, opt := range []string{"adamw", "sgd"} {
		mr := res.Matched[opt]
		res.check(opt, "learning rate", mr.End.Step, mr.LR, "(info)", true, "", map[string]string{"adamw": "3e-4", "sgd": "0.03"}[opt])
		reached := 0.0
		if mr.Reached {
			reached = 1
		}
		res.check(opt, "threshold reached (1 = yes)", mr.End.Step, reached, "1", mr.Reached, "", "")
		thStep := math.NaN()
		th := Record{}
		if mr.Reached {
			thStep, th = float64(mr.Threshold.Step), mr.Threshold
		}
		res.check(opt, "threshold step", mr.End.Step, thStep, "(info)", true, "", "")
		for l := 0; l < 2; l++ {
			for _, at := range []struct {
				name string
				r    Record
			}{{"threshold", th}, {"end", mr.End}} {
				v := math.NaN()
				if l < len(at.r.Layers) {
					v = at.r.Layers[l].ResBOSPaper
				}
				res.check(opt, fmt.Sprintf("‖Res_BOS‖ layer %d at %s", l, at.name), at.r.Step, v, "(info)", true, "", "")
				res.check(opt, fmt.Sprintf("‖Res_BOS‖ / median other, layer %d at %s", l, at.name), at.r.Step, ratioAt(at.r, l), "(info)", true, "", "")
			}
		}
		res.check(opt, "backcopy risk at end", mr.End.Step, mr.End.BackcopyRisk, "(info)", true, "", "")
		res.check(opt, "bigram excess risk at end", mr.End.Step, mr.End.BigramExcess, "(info)", true, "", "")
		recs := res.Runs[mr.Run]
		res.tableOf(opt, recs, paperResSteps, "res_bos_paper_l0", paperRes[opt], resBOS)
		nan := make([]float64, len(paperResSteps))
		for i := range nan {
			nan[i] = math.NaN() // the paper's table is layer 0 only
		}
		res.tableOf(opt, recs, paperResSteps, "res_bos_paper_l1", nan, func(r Record) float64 { return r.Layers[1].ResBOSPaper })
	}
	a, s := res.Matched["adamw"], res.Matched["sgd"]
	th := func(m Matched) Record {
		if m.Reached {
			return m.Threshold
		}
		return Record{}
	}
	d := ratioAt(th(a), 0) - ratioAt(th(s), 0)
	res.check("adamw − sgd", "layer-0 ratio difference at threshold", a.Threshold.Step, d, "> 0", d > 0, "", "Adam's peak grows, SGD's does not")
	d = ratioAt(a.End, 0) - ratioAt(s.End, 0)
	res.check("adamw − sgd", "layer-0 ratio difference at end", a.End.Step, d, "> 0", d > 0, "", "140.7 vs 20.4 (‖Res_BOS‖ @10k)")
	d = ratioAt(a.End, 0) - ratioAt(th(a), 0)
	res.check("adamw", "layer-0 ratio growth, threshold → end", a.End.Step, d, "> 0", d > 0, "", "34.4 → 140.7 (1k → 10k)")
	d = ratioAt(s.End, 0) - ratioAt(th(s), 0)
	res.check("sgd", "layer-0 ratio growth, threshold → end", s.End.Step, d, "(info)", true, "", "29.1 → 20.4 (1k → 10k)")
}

// paperMinimal is PAPER §4.3's table: full model, layer 0 removed.
var paperMinimal = map[string][2]float64{
	"Res_BOS − mean Res_other after layer 0": {106.1, 0.71},
	"mean positive Δlogit_BOS at layer 1":    {18.9, 1.92},
	"‖W_O v_BOS‖ at layer 1":                 {0.73, 10.6},
	"backcopy risk":                          {math.NaN(), 2.44},
	"bigram risk":                            {math.NaN(), 2.47},
}

func (res *ReproResult) compareMinimal() {
	recs := res.Runs["minimal"]
	step := recs[len(recs)-1].Step
	full, abl := res.Minimal["full"], res.Minimal["no layer 0"]
	get := []struct {
		name string
		f    func(MinimalStats) float64
	}{
		{"Res_BOS − mean Res_other after layer 0", func(s MinimalStats) float64 { return s.ResGap }},
		{"mean positive Δlogit_BOS at layer 1", func(s MinimalStats) float64 { return s.DLogitPositive }},
		{"‖W_O v_BOS‖ at layer 1", func(s MinimalStats) float64 { return s.ValueNormBOS }},
		{"backcopy risk", func(s MinimalStats) float64 { return s.BackcopyRisk }},
		{"bigram risk", func(s MinimalStats) float64 { return s.BigramRisk }},
	}
	for _, g := range get {
		p := paperMinimal[g.name]
		for i, run := range []string{"full", "no layer 0"} {
			st := full
			if i == 1 {
				st = abl
			}
			v := g.f(st)
			res.check(run, g.name, step, v, "(info)", true, "", paperNum(p[i]))
			res.Table = append(res.Table, PaperRow{Run: run, Step: step, Metric: g.name, Ours: v, Paper: p[i]})
		}
	}
	res.check("full", "share of non-trigger queries with Δlogit_BOS > 0, layer 1", step, full.PositiveShare, "(info)", true, "", "")
	res.check("no layer 0", "share of non-trigger queries with Δlogit_BOS > 0, layer 1", step, abl.PositiveShare, "(info)", true, "", "")
	res.check("full", "mean Δlogit_BOS at layer 1, all non-trigger queries", step, full.DLogitMean, "(info)", true, "", "")
	res.check("no layer 0", "mean Δlogit_BOS at layer 1, all non-trigger queries", step, abl.DLogitMean, "(info)", true, "", "")
	res.check("full", "bigram excess risk", step, full.BigramExcess, "(info)", true, "", "")
	// The paper's directions: removing layer 0 removes the residual peak and
	// the sink, and the BOS value state is no longer drained.
	d := full.ResGap - abl.ResGap
	res.check("full − no layer 0", "Res_BOS gap after layer 0", step, d, "> 0", d > 0, "", "106.1 − 0.71")
	d = full.DLogitPositive - abl.DLogitPositive
	res.check("full − no layer 0", "mean positive Δlogit_BOS at layer 1", step, d, "> 0", d > 0, "", "18.9 − 1.92")
	d = full.ValueNormBOS - abl.ValueNormBOS
	res.check("full − no layer 0", "‖W_O v_BOS‖ at layer 1", step, d, "< 0", d < 0, "", "0.73 − 10.6")
}

func paperNum(v float64) string {
	if v != v {
		return ""
	}
	return fmt.Sprintf("%g", v)
}

func (res *ReproResult) plot(dir string) error {
	add := func(name, title, ylabel string, s []Series, norm bool) error {
		p := filepath.Join(dir, name)
		if err := PlotSeries(p, title, ylabel, s, norm); err != nil {
			return err
		}
		res.Plots = append(res.Plots, p)
		return nil
	}
	pick := func(run, name string, l int, f func(Record) float64) Series {
		s := Series{Name: name}
		for _, r := range res.Runs[run] {
			if l < len(r.Layers) {
				s.X = append(s.X, float64(r.Step))
				s.Y = append(s.Y, f(r))
			}
		}
		return s
	}
	switch res.Experiment {
	case ExpSink:
		return add("sink_dynamics.png", "BB 1 layer, softmax, AdamW: dynamics (Figure 4(b))", "min–max normalised", DynamicsSeries(res.Runs["softmax"], 0), true)
	case ExpReLU:
		var s []Series
		for _, run := range []string{"softmax", "relu"} {
			s = append(s, pick(run, run+" Attn_BOS", 0, func(r Record) float64 { return r.Layers[0].AttnBOSPaper }))
		}
		if err := add("relu_attn_bos.png", "Attn_BOS (non-trigger queries, query 0 included): softmax vs ReLU attention", "attention to BOS", s, false); err != nil {
			return err
		}
		s = nil
		for _, run := range []string{"softmax", "relu"} {
			s = append(s, pick(run, run+" ‖W_O v_BOS‖", 0, func(r Record) float64 { return r.Layers[0].ValueNormBOSFullWO }))
		}
		return add("relu_value_norm.png", "‖W_O v_BOS‖: softmax vs ReLU attention", "value norm", s, false)
	case ExpSGD:
		var s, q []Series
		for _, opt := range []string{"adamw", "sgd"} {
			mr := res.Matched[opt]
			for l := 0; l < 2; l++ {
				name := fmt.Sprintf("%s lr %g layer %d", opt, mr.LR, l)
				s = append(s, pick(mr.Run, name, l, func(r Record) float64 { return r.Layers[l].ResBOSPaper }))
				q = append(q, pick(mr.Run, name, l, func(r Record) float64 { return ratioAt(r, l) }))
			}
		}
		if err := add("sgd_res_bos.png", "‖Res_BOS‖, 3 layers: AdamW vs SGD", "‖resid_post at BOS‖", s, false); err != nil {
			return err
		}
		return add("sgd_res_ratio.png", "‖Res_BOS‖ / median ‖resid_post‖ of the other positions: AdamW vs SGD", "ratio", q, false)
	case ExpMinimal:
		var s []Series
		for l := 0; l < 2; l++ {
			s = append(s, pick("minimal", fmt.Sprintf("‖Res_BOS‖ layer %d", l), l, func(r Record) float64 { return r.Layers[l].ResBOSPaper }))
		}
		s = append(s, pick("minimal", "‖W_O v_BOS‖ layer 1", 1, func(r Record) float64 { return r.Layers[1].ValueNormBOSFullWO }))
		return add("minimal_dynamics.png", "3 layers, no attention in layer 2: BOS residual and value norms", "norm", s, false)
	}
	return nil
}
