package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// TestBench checks bench's JSON line; flops_per_forward must equal what
// ../shared/bench/torch_forward.py prints for the same checkpoint and ids
// (20942592 for stories260K at T = 37: 2·(matrices + tied head)·T + 4·L·H·dh·T²).
func TestBench(t *testing.T) {
	ckpt := fixtures.Path(t, "hf/stories260K_hf")
	ids := fixtures.Path(t, "reference/stories260K_hf_reference.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"bench", ckpt, "--ids", ids, "--threads", "1", "--warmup", "0", "--repeat", "1"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var got struct {
		Impl          string  `json:"impl"`
		Tokens        int     `json:"tokens"`
		Flops         int64   `json:"flops_per_forward"`
		Median        float64 `json:"forward_s_median"`
		TokensPerS    float64 `json:"tokens_per_s"`
		LogitsFinite  bool    `json:"logits_finite"`
		Params        int64   `json:"params"`
		WeightsStored string  `json:"weights_stored"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if got.Impl != "sinkscope" || got.Tokens != 37 || got.Flops != 20942592 || got.Params != 260032 ||
		got.WeightsStored != "F32" || !got.LogitsFinite || got.Median <= 0 || got.TokensPerS <= 0 {
		t.Errorf("bench printed %s", stdout.String())
	}
}
