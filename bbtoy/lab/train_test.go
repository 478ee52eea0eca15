package lab

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseSeeds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint64
	}{
		{"42", []uint64{42}},
		{"1-3, 7", []uint64{1, 2, 3, 7}},
		{"5,1", []uint64{5, 1}},
	} {
		got, err := ParseSeeds(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseSeeds(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "3-1", "a", "1,1", "1-2,2", "1-5000", "-3"} {
		if _, err := ParseSeeds(bad); err == nil {
			t.Errorf("ParseSeeds(%q): no error", bad)
		}
	}
}

func TestCheckpointSteps(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		steps int
		want  []int
	}{
		{"log", 30, []int{0, 1, 2, 5, 10, 20, 30}},
		{"none", 30, nil},
		{"3, 9", 30, []int{3, 9}},
	} {
		got, err := CheckpointSteps(tc.spec, tc.steps)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("CheckpointSteps(%q, %d) = %v, %v; want %v", tc.spec, tc.steps, got, err, tc.want)
		}
	}
	for _, bad := range []string{"31", "-1", "x", "1,,2"} {
		if _, err := CheckpointSteps(bad, 30); err == nil {
			t.Errorf("CheckpointSteps(%q, 30): no error", bad)
		}
	}
}

// cancelAfter is a progress writer that cancels its context at its n-th
// line, as an interrupt in the middle of a run would.
type cancelAfter struct {
	n      int
	cancel func()
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return len(p), nil
}

// TestTrainInterruptedKeepsRecords: a run stopped half-way leaves the records
// it measured in dynamics.partial.jsonl and no dynamics.jsonl; a finished
// run in the same directory replaces the partial log by the whole one.
func TestTrainInterruptedKeepsRecords(t *testing.T) {
	o := DefaultTrainOptions()
	o.D, o.Layers, o.Batch, o.Steps, o.EvalEvery, o.EvalBatch, o.Threads, o.Checkpoints = 8, 1, 2, 10, 2, 2, 1, "none"
	dir := t.TempDir()
	final, part := filepath.Join(dir, "dynamics.jsonl"), filepath.Join(dir, "dynamics.partial.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	recs, err := Train(ctx, o, dir, "", "test", &cancelAfter{n: 2, cancel: cancel})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "the 2 dynamics records so far are in "+part) {
		t.Fatalf("interrupted run: error %v, want context.Canceled naming %s", err, part)
	}
	if _, err := os.Stat(final); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("interrupted run: %s exists (error %v), want no whole log", final, err)
	}
	got, err := ReadDynamics(part)
	if err != nil || len(got) != 2 || len(recs) != 2 || got[1].Step != 2 || got[1].Loss != recs[1].Loss {
		t.Fatalf("interrupted run: %s holds %d records (error %v), returned %d; want steps 0 and 2", part, len(got), err, len(recs))
	}

	recs, err = Train(context.Background(), o, dir, "", "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(part); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("finished run: %s still exists (error %v)", part, err)
	}
	got, err = ReadDynamics(final)
	if err != nil || len(got) != 6 || len(recs) != 6 || got[5].Step != 10 {
		t.Errorf("finished run: %s holds %d records (error %v), want steps 0, 2, …, 10", final, len(got), err)
	}
}
