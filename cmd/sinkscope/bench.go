package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	var (
		ids                             string
		threads, warmup, repeat, tokens int
	)
	c := &cobra.Command{
		Use:   "bench MODEL [--ids FILE] [--threads N] [--warmup W] [--repeat R]",
		Short: "Time the forward pass and print one JSON line (seconds, GFLOP/s, peak RSS) for comparison with PyTorch",
		Long: `bench runs W untimed and R timed forward passes over the token rows of --ids (a JSON file
holding {"input_ids": [[...], ...]}, a list of rows or one row; or comma-separated ids), or
over --tokens random ids, and prints one JSON line:
  {"impl":"sinkscope","forward_s_median":...,"gflops":...,"tokens_per_s":...,"peak_rss_mb":...,"flops_per_forward":...}
A forward covers every row. flops_per_forward counts 2 flops per weight-matrix element per
token (q, k, v, o, gate, up, down and the output head, not the embedding lookup) plus
4·layers·heads·head_dim·T² for attention scores and values over the full T×T square, the
formula of the PyTorch timing script in the project's benchmark kit, so gflops compare as times do. peak_rss_mb is the process's
peak resident set (mapped weights included).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if warmup < 0 || repeat < 1 || threads < 0 {
				return usagef("bench: --warmup %d, --repeat %d, --threads %d: want warmup ≥ 0, repeat ≥ 1, threads ≥ 0", warmup, repeat, threads)
			}
			start := time.Now()
			m, ckpt, err := sinkscope.Open(args[0], threads)
			if err != nil {
				return err
			}
			defer ckpt.Close()
			loadS := time.Since(start).Seconds()
			in := m.Info()
			var rows [][]int
			if ids != "" {
				if rows, err = readBenchIDs(ids); err != nil {
					return err
				}
			} else {
				if tokens < 1 {
					return usagef("bench: --tokens %d: want at least 1", tokens)
				}
				rng := rand.New(rand.NewPCG(0, 0))
				row := make([]int, tokens)
				for i := range row {
					row[i] = rng.IntN(in.Vocab)
				}
				rows = [][]int{row}
			}
			T := len(rows[0])
			for i, r := range rows {
				if len(r) != T {
					return fmt.Errorf("bench: %s: row %d has %d ids, row 0 has %d", ids, i, len(r), T)
				}
			}
			finite := true
			var times []float64
			for i := 0; i < warmup+repeat; i++ {
				t0 := time.Now()
				for _, r := range rows {
					logits, err := m.Forward(r, nil)
					if err != nil {
						return err
					}
					if i == 0 {
						for _, v := range logits {
							finite = finite && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
						}
					}
				}
				if i >= warmup {
					times = append(times, time.Since(t0).Seconds())
				}
			}
			slices.Sort(times)
			med := times[len(times)/2]
			if len(times)%2 == 0 {
				med = (times[len(times)/2-1] + times[len(times)/2]) / 2
			}
			matrix, params, stored := benchWeights(ckpt)
			if mc, ok := m.(model.MatrixCounter); ok {
				matrix = mc.MatrixElements()
			}
			B := len(rows)
			flops := 2*matrix*int64(B*T) + 4*int64(in.Layers*B*in.Heads*in.HeadDim)*int64(T*T)
			nThreads := threads
			if nThreads == 0 {
				nThreads = runtime.GOMAXPROCS(0)
			}
			out := []struct {
				k string
				v any
			}{
				{"impl", "sinkscope"}, {"arch", in.Arch}, {"threads", nThreads}, {"tokens", T}, {"batch", B},
				{"params", params}, {"weights_stored", stored}, {"load_s", round(loadS, 3)},
				{"forward_s_median", round(med, 4)}, {"forward_s_min", round(times[0], 4)},
				{"tokens_per_s", round(float64(B*T)/med, 2)}, {"gflops", round(float64(flops)/med/1e9, 2)},
				{"peak_rss_mb", round(peakRSSMB(), 1)}, {"flops_per_forward", flops}, {"runs", len(times)},
				{"logits_finite", finite},
			}
			var buf bytes.Buffer
			buf.WriteByte('{')
			for i, kv := range out {
				if i > 0 {
					buf.WriteString(", ")
				}
				fmt.Fprintf(&buf, "%q: %s", kv.k, jsonValue(kv.v))
			}
			buf.WriteString("}\n")
			_, err = cmd.OutOrStdout().Write(buf.Bytes())
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&ids, "ids", "", `token ids: a JSON file ({"input_ids": [[...]]}, [[...]] or [...]) or "1,2,3"`)
	f.IntVar(&tokens, "tokens", 128, "random ids per row when --ids is not given")
	f.IntVar(&threads, "threads", 0, "threads (0: all cores)")
	f.IntVar(&warmup, "warmup", 1, "untimed forward passes first")
	f.IntVar(&repeat, "repeat", 3, "timed forward passes")
	return c
}

// readBenchIDs reads token rows from a JSON file or a comma-separated list.
func readBenchIDs(spec string) ([][]int, error) {
	data, err := os.ReadFile(spec)
	if err != nil {
		if strings.ContainsAny(spec, "/.") || os.IsPermission(err) {
			return nil, fmt.Errorf("bench: --ids: %w", err)
		}
		row, perr := parseIDs("--ids", spec)
		return [][]int{row}, perr
	}
	var obj struct {
		InputIDs json.RawMessage `json:"input_ids"`
	}
	raw := json.RawMessage(data)
	if json.Unmarshal(data, &obj) == nil && obj.InputIDs != nil {
		raw = obj.InputIDs
	}
	var rows [][]int
	if err := json.Unmarshal(raw, &rows); err != nil {
		var row []int
		if err2 := json.Unmarshal(raw, &row); err2 != nil {
			return nil, fmt.Errorf("bench: %s: want {\"input_ids\": [[...]]}, a list of rows or one row of ids: %w", spec, err)
		}
		rows = [][]int{row}
	}
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, fmt.Errorf("bench: %s: no token ids", spec)
	}
	return rows, nil
}

// benchWeights returns the weight-matrix elements a forward multiplies by
// (2-D tensors except the embedding, plus the embedding when it doubles as
// the output head; a model.MatrixCounter's own count replaces this for the
// families whose names differ), all parameters, and the stored dtypes.
func benchWeights(c *loader.Checkpoint) (matrix, params int64, dtypes string) {
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

// peakRSSMB returns the process's peak resident set size in MB (VmHWM, the
// value getrusage reports as ru_maxrss), or -1 where /proc is unavailable.
func peakRSSMB() float64 {
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

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
