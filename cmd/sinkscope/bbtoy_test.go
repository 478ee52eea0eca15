package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/bbtoy"
)

// TestBBToyTrainAnalyze trains a tiny model for 4 steps and analyses the
// checkpoint it wrote: the files exist, the log has a record per evaluation
// and the analysis has a row per (head, domain) and per ablation.
func TestBBToyTrainAnalyze(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"bbtoy", "train", "--out", dir, "--d", "8", "--heads", "2", "--batch", "2", "--steps", "4",
		"--eval-every", "2", "--eval-batch", "2", "--checkpoints", "0,4", "--threads", "1"}, &out, &errb)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"dynamics.jsonl", "dynamics.png", "step-000000/config.json", "step-000004/model.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("train did not write %s: %v", f, err)
		}
	}
	recs, err := bbtoy.ReadDynamics(filepath.Join(dir, "dynamics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[2].Step != 4 {
		t.Fatalf("%d records (last step %d), want 3 (steps 0, 2, 4)", len(recs), recs[len(recs)-1].Step)
	}
	out.Reset()
	code = run([]string{"bbtoy", "analyze", filepath.Join(dir, "step-000004"), "--seqs", "2", "--format", "json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("analyze exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	// 2 heads × 2 domains, then full + no-attn L0 + no-mlp L0.
	if len(lines) != 7 {
		t.Fatalf("analyze printed %d JSON lines, want 7:\n%s", len(lines), out.String())
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &row); err != nil {
		t.Fatal(err)
	}
	if row["domain"] != "non-trigger" || row["head"] != 0.0 {
		t.Errorf("first row %v, want head 0 on non-trigger", row)
	}
}

func TestBBToyUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bbtoy", "train"},
		{"bbtoy", "train", "--out", "x", "--attention", "linear"},
		{"bbtoy", "train", "--out", "x", "--no-attn", "3"},
		{"bbtoy", "train", "--out", "x", "--optimizer", "lion"},
		{"bbtoy", "reproduce", "--experiment", "grokking", "--out", "x"},
		{"bbtoy", "analyze", "--format", "xml"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage error); stderr %s", args, code, errb.String())
		}
	}
}
