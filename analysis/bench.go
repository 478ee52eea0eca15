package analysis

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sinkscope/sinkscope/internal/stats"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
)

// BenchResult is the timing of a model's forward passes.
type BenchResult struct {
	Median, Min float64 // seconds per forward over every row
	// Flops per forward: 2 per weight-matrix element per token (every
	// projection and the output head, not the embedding lookup) plus
	// 4·layers·heads·head_dim·T² for the attention scores and values over
	// the full T×T square, the formula of the PyTorch timing script in the
	// project's benchmark kit, so that GFLOP/s compare as times do.
	Flops  int64
	Params int64  // parameters stored in the checkpoint
	DTypes string // the stored dtypes, comma-separated
	Finite bool   // every logit of the first pass is a finite number
}

// Bench runs warmup untimed and repeat timed forward passes over rows (all
// of one length), each pass covering every row.
func Bench(m *Model, rows [][]int, warmup, repeat int) (BenchResult, error) {
	var r BenchResult
	if len(rows) == 0 || repeat < 1 {
		return r, fmt.Errorf("bench: need at least one row and one timed pass")
	}
	T := len(rows[0])
	r.Finite = true
	var times []float64
	for i := 0; i < warmup+repeat; i++ {
		t0 := time.Now()
		for _, row := range rows {
			logits, err := m.Forward(row, nil)
			if err != nil {
				return r, err
			}
			if i == 0 {
				for _, v := range logits {
					r.Finite = r.Finite && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
				}
			}
		}
		if i >= warmup {
			times = append(times, time.Since(t0).Seconds())
		}
	}
	r.Median, r.Min = stats.Median(times), slices.Min(times)
	matrix, params, stored := weights(m.Checkpoint)
	if mc, ok := m.Model.(model.MatrixCounter); ok {
		matrix = mc.MatrixElements()
	}
	in := m.Info()
	B := len(rows)
	r.Flops = 2*matrix*int64(B*T) + 4*int64(in.Layers*B*in.Heads*in.HeadDim)*int64(T*T)
	r.Params, r.DTypes = params, stored
	return r, nil
}

// weights returns the weight-matrix elements a forward multiplies by
// (2-D tensors except the embedding, plus the embedding when it doubles as
// the output head; a model.MatrixCounter's own count replaces this for the
// families whose names differ), all parameters, and the stored dtypes.
func weights(c *loader.Checkpoint) (matrix, params int64, dtypes string) {
	var seen []string
	hasHead := false
	for _, name := range c.Tensors.Names() {
		t, err := c.Tensors.Get(name)
		if err != nil {
			continue
		}
		n := int64(t.Len())
		params += n
		if !slices.Contains(seen, t.DType.String()) {
			seen = append(seen, t.DType.String())
		}
		if len(t.Shape) == 2 && name != "model.embed_tokens.weight" {
			matrix += n
		}
		if name == "lm_head.weight" {
			hasHead = true
			if c.Config.TieWordEmbeddings {
				matrix -= n
			}
		}
	}
	if !hasHead || c.Config.TieWordEmbeddings {
		if e, err := c.Tensors.Get("model.embed_tokens.weight"); err == nil {
			matrix += int64(e.Len())
		}
	}
	slices.Sort(seen)
	return matrix, params, strings.Join(seen, ",")
}

// PeakRSSMB returns the process's peak resident set size in MB (VmHWM, the
// value getrusage reports as ru_maxrss), or -1 where /proc is unavailable.
func PeakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return -1
}
