package lab

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReproduceTiny runs each experiment at a toy scale (d 8, batch 2,
// 4 steps): every run is trained, logged and checkpointed, the checks and the
// paper table are filled and the plots written; a second call with Reuse
// reads the logs back instead of training.
func TestReproduceTiny(t *testing.T) {
	for _, exp := range []string{ExpSink, ExpReLU, ExpSGD, ExpMinimal} {
		dir := t.TempDir()
		o := ReproOptions{Dir: dir, D: 8, Batch: 2, Steps: 4, EvalEvery: 2, EvalBatch: 2, Threads: 1}
		res, err := Reproduce(context.Background(), exp, o)
		if err != nil {
			t.Fatalf("%s: %v", exp, err)
		}
		if len(res.Checks) == 0 || len(res.Table) == 0 || len(res.Plots) == 0 {
			t.Fatalf("%s: %d checks, %d table rows, %d plots; want some of each", exp, len(res.Checks), len(res.Table), len(res.Plots))
		}
		for run, recs := range res.Runs {
			if len(recs) != 3 {
				t.Errorf("%s/%s: %d records, want 3 (steps 0, 2, 4)", exp, run, len(recs))
			}
			if _, err := os.Stat(filepath.Join(dir, run, "step-000004", "model.safetensors")); err != nil {
				t.Errorf("%s/%s: final checkpoint missing: %v", exp, run, err)
			}
		}
		for _, p := range res.Plots {
			if st, err := os.Stat(p); err != nil || st.Size() == 0 {
				t.Errorf("%s: plot %s missing or empty", exp, p)
			}
		}
		o.Reuse, o.Steps = true, 2
		if exp == ExpMinimal {
			o.Steps = 4 // measured on the final checkpoint, which must exist
		}
		res2, err := Reproduce(context.Background(), exp, o)
		if err != nil {
			t.Fatalf("%s reuse: %v", exp, err)
		}
		for run, recs := range res2.Runs {
			n := o.Steps/2 + 1
			if len(recs) != n || recs[n-1].Step != o.Steps || recs[1].Loss != res.Runs[run][1].Loss {
				t.Errorf("%s/%s reused: %d records, want the first %d of the trained run", exp, run, len(recs), n)
			}
		}
	}
	if _, err := Reproduce(context.Background(), "grokking", ReproOptions{Dir: t.TempDir()}); err == nil {
		t.Error("unknown experiment accepted")
	}
}

// TestReproduceSGDMatched runs the sgd experiment at a toy scale both ways:
// with a threshold no run can meet in 4 steps, SGD's whole learning-rate
// grid is tried and the comparison checks fail; with a threshold every model
// meets at step 0, each optimiser trains exactly After more steps and SGD
// stops at the grid's first learning rate.
func TestReproduceSGDMatched(t *testing.T) {
	o := ReproOptions{Dir: t.TempDir(), D: 8, Batch: 2, Steps: 4, EvalEvery: 2, EvalBatch: 2, Threads: 1}
	res, err := Reproduce(context.Background(), ExpSGD, o)
	if err != nil {
		t.Fatal(err)
	}
	sg := res.Matched["sgd"]
	if sg.Reached || sg.LR != 0.3 || len(sg.Tried) != 3 || sg.End.Step != 4 {
		t.Errorf("unreachable threshold: sgd %+v, want lr 0.3 after trying 3, not reached, ending at step 4", sg)
	}
	if len(res.Runs) != 4 {
		t.Errorf("%d runs, want adamw and 3 SGD learning rates", len(res.Runs))
	}
	for _, ch := range res.Checks {
		if ch.Metric == "threshold reached (1 = yes)" && (ch.Pass || ch.Value != 0) {
			t.Errorf("%s: %s = %g (pass %v), want 0 and a failure", ch.Run, ch.Metric, ch.Value, ch.Pass)
		}
		if ch.Metric == "layer-0 ratio difference at threshold" && (ch.Pass || !math.IsNaN(ch.Value)) {
			t.Errorf("%s = %g (pass %v), want NaN and a failure without a threshold", ch.Metric, ch.Value, ch.Pass)
		}
	}

	o = ReproOptions{Dir: t.TempDir(), D: 8, Batch: 2, Steps: 4, EvalEvery: 2, EvalBatch: 2, Threads: 1, Threshold: 1e9, After: 6}
	res, err = Reproduce(context.Background(), ExpSGD, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, opt := range []string{"adamw", "sgd"} {
		mr := res.Matched[opt]
		if !mr.Reached || mr.Threshold.Step != 0 || mr.End.Step != 6 {
			t.Errorf("%s: reached %v at %d, end %d; want reached at 0, end at 6 (After steps later, beyond Steps)", opt, mr.Reached, mr.Threshold.Step, mr.End.Step)
		}
		for _, s := range []int{0, 6} {
			if _, err := os.Stat(filepath.Join(o.Dir, mr.Run, fmt.Sprintf("step-%06d", s), "model.safetensors")); err != nil {
				t.Errorf("%s: checkpoint of step %d: %v", opt, s, err)
			}
		}
	}
	if sg := res.Matched["sgd"]; sg.LR != 0.03 || len(sg.Tried) != 1 || len(res.Runs) != 2 {
		t.Errorf("sgd lr %g after %v, %d runs; want 0.03 at the first try and 2 runs", sg.LR, sg.Tried, len(res.Runs))
	}
	a := res.Matched["adamw"]
	want := ratioAt(a.End, 0) - ratioAt(a.Threshold, 0)
	for _, ch := range res.Checks {
		if ch.Run == "adamw" && ch.Metric == "layer-0 ratio growth, threshold → end" && ch.Value != want {
			t.Errorf("%s = %g, want %g", ch.Metric, ch.Value, want)
		}
	}
	o.Reuse = true
	res2, err := Reproduce(context.Background(), ExpSGD, o)
	if err != nil {
		t.Fatal(err)
	}
	if r := res2.Matched["adamw"]; r.End.Step != 6 || r.End.Loss != a.End.Loss {
		t.Errorf("reused adamw ends at %d with loss %g, want 6 and %g", r.End.Step, r.End.Loss, a.End.Loss)
	}

	// The caller's grid is tried in its order; a rate that is not a
	// positive number is refused before any training.
	o = ReproOptions{Dir: t.TempDir(), D: 8, Batch: 2, Steps: 4, EvalEvery: 2, EvalBatch: 2, Threads: 1, SGDRates: []float64{0.2, 0.05}}
	res, err = Reproduce(context.Background(), ExpSGD, o)
	if err != nil {
		t.Fatal(err)
	}
	if sg := res.Matched["sgd"]; sg.LR != 0.05 || !slices.Equal(sg.Tried, o.SGDRates) || len(res.Runs["sgd-lr0.2"]) == 0 {
		t.Errorf("sgd lr %g after %v (runs %d); want 0.05 after 0.2, 0.05", sg.LR, sg.Tried, len(res.Runs))
	}
	for _, lr := range []float64{0, -0.1, math.NaN(), math.Inf(1)} {
		o.SGDRates = []float64{0.1, lr}
		if _, err := Reproduce(context.Background(), ExpSGD, o); err == nil || !strings.Contains(err.Error(), "want a positive number") {
			t.Errorf("SGD rate %g: error %v", lr, err)
		}
	}
}
