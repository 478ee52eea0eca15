package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/tidy"
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
			m, err := analysis.Open(args[0], threads)
			if err != nil {
				return err
			}
			defer m.Close()
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
			r, err := analysis.Bench(m, rows, warmup, repeat)
			if err != nil {
				return err
			}
			nThreads := threads
			if nThreads == 0 {
				nThreads = runtime.GOMAXPROCS(0)
			}
			out := tidy.Table{Fields: []string{"impl", "arch", "threads", "tokens", "batch", "params", "weights_stored", "load_s",
				"forward_s_median", "forward_s_min", "tokens_per_s", "gflops", "peak_rss_mb", "flops_per_forward", "runs", "logits_finite"}}
			out.Add("sinkscope", in.Arch, nThreads, T, len(rows), r.Params, r.DTypes, round(loadS, 3), round(r.Median, 4), round(r.Min, 4),
				round(float64(len(rows)*T)/r.Median, 2), round(float64(r.Flops)/r.Median/1e9, 2), round(analysis.PeakRSSMB(), 1), r.Flops, repeat, r.Finite)
			return out.Write(cmd.OutOrStdout(), "json")
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

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
