package lab

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyRepro is a reproduction at a toy scale (d 8, batch 2, 4 steps).
func tinyRepro(dir string) ReproOptions {
	return ReproOptions{Dir: dir, D: 8, Batch: 2, Steps: 4, EvalEvery: 2, EvalBatch: 2, After: 2, Threads: 1}
}

// writeLog writes a dynamics log as DIR/run/dynamics.jsonl.
func writeLog(t testing.TB, dir, run string, log []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, run), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, run, "dynamics.jsonl"), log, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReuseMalformedLog gives Reuse dynamics logs that are not one run's
// records: each is refused with an error that names the file and what is
// wrong, instead of a panic on a missing layer or a check on a wrong step.
func TestReuseMalformedLog(t *testing.T) {
	layer := `{"first_attn": 0.5}`
	rec := func(step string, layers ...string) string {
		return `{"step": ` + step + `, "layers": [` + strings.Join(layers, ",") + `]}` + "\n"
	}
	for _, tc := range []struct {
		name, exp, run, log, want string
	}{
		{"no layers", ExpSink, "softmax", rec("0") + rec("4"), "record 1: no layers"},
		{"layers differ", ExpSink, "softmax", rec("0", layer) + rec("4", layer, layer), "record 2: 2 layers, record 1 has 1"},
		{"steps decrease", ExpSink, "softmax", rec("4", layer) + rec("2", layer), "record 2: step 2 after step 4"},
		{"step repeated", ExpSink, "softmax", rec("0", layer) + rec("0", layer), "record 2: step 0 after step 0"},
		{"negative step", ExpSink, "softmax", rec("-2", layer), "record 1: step -2 is negative"},
		{"not JSON", ExpSink, "softmax", rec("0", layer) + "{\"step\": 2,", "record 2: unexpected EOF"},
		{"wrong run", ExpSGD, "adamw", rec("0", layer) + rec("4", layer), "records of 1 layers, the adamw run has 3"},
	} {
		dir := t.TempDir()
		writeLog(t, dir, tc.run, []byte(tc.log))
		o := tinyRepro(dir)
		o.Reuse = true
		_, err := Reproduce(context.Background(), tc.exp, o)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Join(dir, tc.run, "dynamics.jsonl")) {
			t.Errorf("%s: error %v, want one naming the log and %q", tc.name, err, tc.want)
		}
	}
}

// FuzzReuseLog feeds mutated dynamics logs to a reproduction that reuses
// them: sink (one run of one layer) or sgd (AdamW and SGD at lr 0.03, three
// layers, cut at their thresholds). It must fail with an error or give
// checks, never panic. Its context is cancelled, so that a log that cannot
// be reused fails at once instead of training. The seeds are real runs' logs.
func FuzzReuseLog(f *testing.F) {
	for _, exp := range []string{ExpSink, ExpSGD} {
		dir := f.TempDir()
		o := tinyRepro(dir)
		o.SGDRates = []float64{0.03}
		if _, err := Reproduce(context.Background(), exp, o); err != nil {
			f.Fatal(err)
		}
		var logs [2][]byte
		for i, run := range fuzzRuns(exp == ExpSGD) {
			b, err := os.ReadFile(filepath.Join(dir, run, "dynamics.jsonl"))
			if err != nil {
				f.Fatal(err)
			}
			logs[i] = b
		}
		f.Add(exp == ExpSGD, logs[0], logs[1])
	}
	f.Fuzz(func(t *testing.T, sgd bool, log0, log1 []byte) {
		exp := ExpSink
		if sgd {
			exp = ExpSGD
		}
		dir := t.TempDir()
		for i, run := range fuzzRuns(sgd) {
			writeLog(t, dir, run, [][]byte{log0, log1}[i])
		}
		o := tinyRepro(dir)
		o.Reuse, o.SGDRates = true, []float64{0.03}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := Reproduce(ctx, exp, o)
		if err == nil && len(res.Checks) == 0 {
			t.Errorf("%s reused its logs and made no checks", exp)
		}
	})
}

// fuzzRuns names the runs whose logs FuzzReuseLog writes.
func fuzzRuns(sgd bool) []string {
	if sgd {
		return []string{"adamw", "sgd-lr0.03"}
	}
	return []string{"softmax"}
}
