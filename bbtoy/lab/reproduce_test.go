package lab

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestReproduceTiny runs each experiment at a toy scale (d 8, batch 2,
// 4 steps): every run is trained, logged and checkpointed, the checks and the
// paper table are filled and the plots written; a second call with Reuse
// reads the logs back instead of training.
func TestReproduceTiny(t *testing.T) {
	for _, exp := range []string{ExpSink, ExpReLU, ExpSGD} {
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
		res2, err := Reproduce(context.Background(), exp, o)
		if err != nil {
			t.Fatalf("%s reuse: %v", exp, err)
		}
		for run, recs := range res2.Runs {
			if len(recs) != 2 || recs[1].Step != 2 || recs[1].Loss != res.Runs[run][1].Loss {
				t.Errorf("%s/%s reused: %d records, want the first 2 of the trained run", exp, run, len(recs))
			}
		}
	}
	if _, err := Reproduce(context.Background(), "grokking", ReproOptions{Dir: t.TempDir()}); err == nil {
		t.Error("unknown experiment accepted")
	}
}
