package bbtoy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// TestSpeedVsTorch compares training throughput with the PyTorch anchor
// (bench/bb_torch.py beside the fixtures, Debian's /usr/bin/python3 with
// python3-torch) on the same configuration: d 64, batch 64, AdamW, 2 threads,
// 1 layer (want ≥ 1×) and 3 layers (want ≥ 2×). The two alternate for 3
// rounds so that both see the same machine load; each round times 5 steps
// after one warm-up step (median step time, batch generation included on both
// sides). Opt-in: BBTOY_TORCH=1 (BBTOY_TORCH_LAYERS=3 for one configuration).
// The anchor needs Debian's libopenblas0-pthread: without it torch runs on
// the reference BLAS, several times slower. Where OpenBLAS misdetects the
// CPU and dies on an AVX-512 instruction, OPENBLAS_CORETYPE names the core.
func TestSpeedVsTorch(t *testing.T) {
	for _, tc := range []struct {
		layers int
		want   float64
	}{{1, 1}, {3, 2}} {
		if l := os.Getenv("BBTOY_TORCH_LAYERS"); l != "" && l != strconv.Itoa(tc.layers) {
			continue
		}
		t.Run(fmt.Sprintf("layers=%d", tc.layers), func(t *testing.T) { speedVsTorch(t, tc.layers, tc.want) })
	}
}

func speedVsTorch(t *testing.T, layers int, want float64) {
	if os.Getenv("BBTOY_TORCH") == "" {
		t.Skip("set BBTOY_TORCH=1 to compare training speed with bench/bb_torch.py")
	}
	fx := fixtures.Dir()
	if fx == "" {
		t.Skip("shared fixtures (and bench/) not found")
	}
	script := filepath.Join(filepath.Dir(fx), "bench", "bb_torch.py")
	if _, err := os.Stat(script); err != nil {
		t.Skipf("%s not found", script)
	}
	task := BuiltinTask()
	const steps, B = 5, 64
	var ratios []float64
	for round := 0; round < 3; round++ {
		cmd := exec.Command("/usr/bin/python3", script, "--bench", "5", "--d", "64", "--B", "64", "--L", strconv.Itoa(layers))
		cmd.Env = append(os.Environ(), "BB_THREADS=2")
		out, err := cmd.Output()
		if err != nil {
			// Asked for by name, so a broken anchor fails rather than skips.
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			hint := ""
			if strings.Contains(err.Error(), "illegal instruction") {
				hint = " (OpenBLAS may have picked a kernel this CPU lacks: try OPENBLAS_CORETYPE=Zen or Haswell)"
			}
			t.Fatalf("bb_torch.py: %v%s %s", err, hint, stderr)
		}
		var tr struct {
			TokensPerS float64 `json:"tokens_per_s"`
		}
		if err := json.Unmarshal(out, &tr); err != nil {
			t.Fatalf("bb_torch.py output %q: %v", out, err)
		}
		trn, err := NewTrainer(task, TrainConfig{Model: DefaultConfig(task, 64, layers), Optim: DefaultAdamW(1e-3), Batch: B, Seed: 42, Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		trn.Step() // warm-up
		var ts []float64
		for i := 0; i < steps; i++ {
			t0 := time.Now()
			trn.Step()
			ts = append(ts, time.Since(t0).Seconds())
		}
		slices.Sort(ts)
		goTok := float64(B*task.SeqLen()) / ts[len(ts)/2]
		ratios = append(ratios, goTok/tr.TokensPerS)
		t.Logf("round %d: sinkscope %.0f tokens/s, torch %.0f tokens/s, ratio %.2f", round, goTok, tr.TokensPerS, goTok/tr.TokensPerS)
	}
	slices.Sort(ratios)
	t.Logf("median ratio sinkscope/torch: %.2f", ratios[1])
	if ratios[1] < want {
		t.Errorf("%d layers: sinkscope trains at %.2f× the PyTorch anchor's tokens/s, want ≥ %g", layers, ratios[1], want)
	}
}
