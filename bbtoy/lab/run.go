package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/sinkscope/sinkscope/bbtoy"
)

// RunConfig says what a training run measures and saves along the way.
type RunConfig struct {
	Steps       int        // optimisation steps
	EvalEvery   int        // dynamics record every EvalEvery steps (and at the first and last); 0: none
	Eval        *Evaluator // the fixed evaluation batch (nil: no records)
	Checkpoints []int      // steps at which to save a checkpoint
	Dir         string     // checkpoints go to Dir/step-%06d
	Log         io.Writer  // dynamics records as JSON Lines (nil: none)
	Progress    io.Writer  // one human-readable line per record (nil: none)
	Command     string     // recorded in each checkpoint's training info
	// Until, when set, ends the run early: once a record satisfies it (at
	// step s, the run's threshold), training goes on for After more steps
	// and stops at s+After, which may exceed Steps; Steps only bounds the
	// search for the threshold. The threshold and final steps are
	// checkpointed too. Until needs Eval and EvalEvery > 0.
	Until func(Record) bool
	After int
}

// Threshold returns the first record that satisfies until, and false when
// none does.
func Threshold(recs []Record, until func(Record) bool) (Record, bool) {
	for _, r := range recs {
		if until(r) {
			return r, true
		}
	}
	return Record{}, false
}

// LogSpacedSteps returns 0, 1, 2, 5, 10, 20, 50, ... up to and including max.
func LogSpacedSteps(max int) []int {
	out := []int{0}
	for p := 1; p <= max; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p <= max {
				out = append(out, m*p)
			}
		}
	}
	if out[len(out)-1] != max {
		out = append(out, max)
	}
	return out
}

// CheckpointDir is where Run saves the checkpoint of a step.
func CheckpointDir(root string, step int) string {
	return filepath.Join(root, fmt.Sprintf("step-%06d", step))
}

// Run trains tr until rc.Steps, recording dynamics and saving checkpoints,
// and returns the records. It stops early, with ctx's error, when ctx is
// done.
func Run(ctx context.Context, tr *bbtoy.Trainer, rc RunConfig) ([]Record, error) {
	var recs []Record
	var trainTime time.Duration
	enc := func(r Record) error {
		if rc.Log == nil {
			return nil
		}
		b, err := json.Marshal(finite(r))
		if err != nil {
			return err
		}
		_, err = rc.Log.Write(append(b, '\n'))
		return err
	}
	if rc.Until != nil && (rc.Eval == nil || rc.EvalEvery <= 0 || rc.After < 0) {
		return nil, optionf("a run with a threshold needs an evaluator, a record interval and After ≥ 0")
	}
	end := rc.Steps // the last step; s+After once the threshold is met at s
	reached := false
	ckpt := slices.Clone(rc.Checkpoints)
	for {
		s := tr.StepCount()
		if rc.Eval != nil && rc.EvalEvery > 0 && (s%rc.EvalEvery == 0 || s == end) {
			r, err := rc.Eval.Measure(tr.Model())
			if err != nil {
				return recs, fmt.Errorf("%w (at step %d)", err, s)
			}
			r.Step, r.Seconds = s, trainTime.Seconds()
			recs = append(recs, r)
			if err := enc(r); err != nil {
				return recs, fmt.Errorf("bbtoy: writing dynamics log: %w", err)
			}
			if rc.Progress != nil {
				l0 := r.Layers[0]
				fmt.Fprintf(rc.Progress, "step %6d  loss %.4f  backcopy %.4f  bigram excess %.4f  first_attn %.3f  value_norm_first %.3f  dlogit_paper_mean %.2f  res_bos_paper %.1f  (%.1fs)\n",
					s, r.Loss, r.BackcopyRisk, r.BigramExcess, l0.FirstAttn, l0.ValueNormFirst, l0.DLogitPaperMean, l0.ResBOSPaper, r.Seconds)
			}
			if rc.Until != nil && !reached && rc.Until(r) {
				reached, end = true, s+rc.After
				ckpt = append(ckpt, s, end)
				if rc.Progress != nil {
					fmt.Fprintf(rc.Progress, "threshold reached at step %d: training on to step %d\n", s, end)
				}
			}
		}
		if (slices.Contains(ckpt, s) || rc.Until != nil && s >= end) && rc.Dir != "" {
			info := tr.Info()
			info.Command = rc.Command
			tr.Model().SetTraining(info)
			if err := tr.Model().Save(CheckpointDir(rc.Dir, s)); err != nil {
				return recs, err
			}
		}
		if s >= end {
			return recs, nil
		}
		if err := ctx.Err(); err != nil {
			return recs, err
		}
		t0 := time.Now()
		tr.Step()
		trainTime += time.Since(t0)
	}
}

// finite replaces NaN (layers without attention, a batch without trigger
// queries) by a JSON-encodable value: encoding/json rejects NaN, so those
// fields are written as 0 and the layer's absence of attention is in the
// checkpoint config.
func finite(r Record) Record {
	r.Layers = slices.Clone(r.Layers)
	for i := range r.Layers {
		for _, p := range r.Layers[i].floats() {
			if *p != *p {
				*p = 0
			}
		}
	}
	return r
}
