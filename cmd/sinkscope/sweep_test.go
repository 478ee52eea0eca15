package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/loader"
)

// TestMain lets the tests start the command as a real process: the test
// binary runs the CLI on its arguments when SINKSCOPE_RUN_CLI is set, so
// that kills, signals and concurrent workers are tested on processes
// without building a second binary.
func TestMain(m *testing.M) {
	if os.Getenv("SINKSCOPE_RUN_CLI") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if toy.dir != "" {
		os.RemoveAll(toy.dir)
	}
	os.Exit(code)
}

// toy is the toy series the sweep tests share (read only: every run names
// its cache) and the output of one uninterrupted run over it.
var toy struct {
	once  sync.Once
	dir   string // where it was made, removed after the tests
	err   error
	table string
	plot  []byte
}

// toySeries returns the shared toy series (see buildToySeries) and the
// output of one uninterrupted, uncached run over it.
func toySeries(t *testing.T) (series, table string, plot []byte) {
	t.Helper()
	toy.once.Do(func() {
		if toy.dir, toy.err = os.MkdirTemp("", "sinkscope-toy-series"); toy.err != nil {
			return
		}
		writeToySeries(t, toy.dir)
		if !t.Failed() {
			toy.table, toy.plot = reference(t, toy.dir)
		}
	})
	if toy.err != nil || toy.table == "" {
		t.Fatalf("toy series: %v", toy.err)
	}
	return toy.dir, toy.table, toy.plot
}

// cli returns the command sinkscope args as a process of the test binary,
// with extra environment variables env.
func cli(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command(exe, args...)
	c.Env = append(os.Environ(), "SINKSCOPE_RUN_CLI=1")
	for _, v := range []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX"} {
		c.Env = append(c.Env, v+"=")
	}
	c.Env = append(c.Env, env...)
	return c
}

// sweepArgs analyse few sequences, so that a checkpoint takes a fraction of
// a second, and make workers wait at most a second for one another.
var sweepArgs = []string{"--max-seqs", "3", "--seq-len", "64", "--seed", "3", "--lock-timeout", "8s"}

// writeToySeries writes a series of 12 Bigram-Backcopy checkpoints into
// dir: ten distinct ones (the built-in checkpoint with its query
// weights scaled by 0.5 … 2.3) and two byte-identical copies of two of them
// under other step names.
func writeToySeries(t *testing.T, dir string) {
	t.Helper()
	cfg, err := fs.ReadFile(bbtoy.Builtin(), "config.json")
	if err != nil {
		t.Fatal(err)
	}
	weights, err := fs.ReadFile(bbtoy.Builtin(), "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := loader.OpenSafetensorsBytes("builtin", weights)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 10 {
		var out []loader.WriteTensor
		for _, name := range ts.Names() {
			tn, _ := ts.Get(name)
			data := append([]byte(nil), tn.Bytes()...)
			if name == "layers.0.attention.wq.weight" {
				s := 0.5 + 0.2*float32(k)
				for i := 0; i < len(data); i += 4 {
					v := math.Float32frombits(binary.LittleEndian.Uint32(data[i:]))
					binary.LittleEndian.PutUint32(data[i:], math.Float32bits(v*s))
				}
			}
			out = append(out, loader.WriteTensor{Name: name, DType: tn.DType, Shape: tn.Shape, Data: data})
		}
		d := filepath.Join(dir, fmt.Sprintf("step%d", 100*(k+1)))
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "config.json"), cfg, 0o644)
		if err := loader.WriteSafetensors(filepath.Join(d, "model.safetensors"), out, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, dup := range []struct{ from, to string }{{"step300", "step1100"}, {"step800", "step1200"}} {
		d := filepath.Join(dir, dup.to)
		os.MkdirAll(d, 0o755)
		for _, f := range []string{"config.json", "model.safetensors"} {
			copyFile(t, filepath.Join(dir, dup.from, f), filepath.Join(d, f))
		}
	}
}

// outputs runs a finished command and returns its exit code and outputs.
func outputs(t *testing.T, c *exec.Cmd) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// reference is the output of one uninterrupted, uncached run: the table
// with its summary, and the plot.
func reference(t *testing.T, series string) (table string, plot []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ref.png")
	code, out, errs := outputs(t, cli(t, nil, append([]string{"diff", "--series", series, "--no-cache", "--plot", p}, sweepArgs...)...))
	if code != 0 {
		t.Fatalf("reference run: exit %d: %s", code, errs)
	}
	png, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return out, png
}

// merged runs --merge over caches and checks that it prints the reference.
func merged(t *testing.T, series string, table string, plot []byte, caches ...string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "merged.png")
	args := []string{"diff", "--series", series, "--merge", "--plot", p}
	for _, c := range caches {
		args = append(args, "--cache", c)
	}
	code, out, errs := outputs(t, cli(t, nil, append(args, sweepArgs...)...))
	if code != 0 {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	if out != table {
		t.Errorf("merge printed other bytes than one uninterrupted run:\n%s\nwant:\n%s", out, table)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, plot) {
		t.Errorf("merge drew another plot (%d bytes) than one run (%d bytes)", len(got), len(plot))
	}
	if strings.Contains(errs, "computing") || strings.Contains(errs, "to identify it") {
		t.Errorf("merge computed or hashed something (the workers' cache has every result and identity):\n%s", errs)
	}
}

// TestSweepShards runs the series as 1, 2 and 5 workers, one after another,
// on one shared cache (for 2 workers also each on its own cache), and
// merges: the bytes of one run every time, each distinct checkpoint
// computed exactly once, and each checkpoint directory hashed once (the
// workers share their identities through the cache).
func TestSweepShards(t *testing.T) {
	series, table, plot := toySeries(t)
	if !strings.Contains(table, "(duplicate of "+filepath.Join(series, "step300")+")") {
		t.Fatalf("reference run does not flag the duplicate of step300:\n%s", table)
	}
	for _, n := range []int{1, 2, 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			shared := t.TempDir()
			var own []string
			computed, hashed := 0, 0
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range n {
				own = append(own, t.TempDir())
				caches := []string{shared}
				if n == 2 {
					caches = append(caches, own[i])
				}
				for _, cache := range caches {
					c := cli(t, nil, append([]string{"diff", "--series", series, "--shard", fmt.Sprintf("%d/%d", i, n), "--cache", cache}, sweepArgs...)...)
					wg.Go(func() {
						code, _, errs := outputs(t, c)
						if code != 0 {
							t.Errorf("worker %d/%d: exit %d: %s", i, n, code, errs)
						}
						if !strings.Contains(errs, fmt.Sprintf("shard %d of %d (index %d, from --shard %d/%d)", i+1, n, i, i, n)) {
							t.Errorf("worker %d/%d does not say which shard it is:\n%s", i, n, errs)
						}
						if cache == shared {
							mu.Lock()
							computed += strings.Count(errs, ": computed")
							hashed += strings.Count(errs, "to identify it")
							mu.Unlock()
						}
					})
				}
			}
			wg.Wait()
			if computed != 10 {
				t.Errorf("%d workers computed %d checkpoints, want the 10 distinct ones once each", n, computed)
			}
			if hashed != 12 {
				t.Errorf("%d workers hashed %d checkpoint directories, want each of the 12 once (by the worker it was dealt to)", n, hashed)
			}
			merged(t, series, table, plot, shared)
			if n == 2 {
				merged(t, series, table, plot, own...)
			}
		})
	}
	// A merge with a shard missing lists what is not computed yet.
	cache := t.TempDir()
	outputs(t, cli(t, nil, append([]string{"diff", "--series", series, "--shard", "0/2", "--cache", cache}, sweepArgs...)...))
	code, out, errs := outputs(t, cli(t, nil, append([]string{"diff", "--series", series, "--merge", "--cache", cache}, sweepArgs...)...))
	if code != 1 || out != "" || !strings.Contains(errs, "5 of 10 distinct checkpoints are not computed yet") ||
		!strings.Contains(errs, filepath.Join(series, "step200")) {
		t.Errorf("merge of half the shards: exit %d, stdout %d bytes, stderr %s; want exit 1 listing the missing 5", code, len(out), errs)
	}
}

// computeLine matches the status lines of a checkpoint being started and
// finished.
var computeLine = regexp.MustCompile(`(?m)^diff: \[\d+/\d+\] (\S+): (computing|computed)$`)

// TestSweepKills runs 3 workers over the 12-checkpoint series (2
// duplicates) on one shared cache, kills each with SIGKILL at random moments
// and restarts it until it exits 0, then merges: the bytes of one
// uninterrupted run, and no checkpoint computed twice except one in flight
// at a kill. SINKSCOPE_SWEEP_RUNS=20 repeats it 20 times and reports the
// counts.
func TestSweepKills(t *testing.T) {
	if testing.Short() {
		t.Skip("starts about 20 processes")
	}
	runs := 1
	if v := os.Getenv("SINKSCOPE_SWEEP_RUNS"); v != "" {
		runs, _ = strconv.Atoi(v)
	}
	series, table, plot := toySeries(t)
	var totalKills, totalInFlight, totalStarts int
	for r := range runs {
		rng := rand.New(rand.NewPCG(uint64(r), 12))
		cache := t.TempDir()
		var mu sync.Mutex
		starts, finishes, inFlight := map[string]int{}, map[string]int{}, map[string]int{}
		kills := 0
		var wg sync.WaitGroup
		for i := range 3 {
			delays := make([]time.Duration, 0, 8)
			for range 3 {
				delays = append(delays, time.Duration(rng.IntN(300))*time.Millisecond)
			}
			wg.Go(func() {
				for attempt := 0; ; attempt++ {
					c := cli(t, nil, append([]string{"diff", "--series", series, "--shard", fmt.Sprintf("%d/3", i), "--cache", cache}, sweepArgs...)...)
					var errb bytes.Buffer
					c.Stderr, c.Stdout = &errb, io.Discard
					if err := c.Start(); err != nil {
						t.Error(err)
						return
					}
					var timer *time.Timer
					if attempt < len(delays) {
						timer = time.AfterFunc(delays[attempt], func() { c.Process.Kill() })
					}
					err := c.Wait()
					if timer != nil {
						timer.Stop()
					}
					ws, _ := c.ProcessState.Sys().(syscall.WaitStatus)
					killed := ws.Signaled() && ws.Signal() == syscall.SIGKILL
					open := map[string]bool{}
					mu.Lock()
					for _, m := range computeLine.FindAllStringSubmatch(errb.String(), -1) {
						if m[2] == "computing" {
							starts[m[1]]++
							open[m[1]] = true
						} else {
							finishes[m[1]]++
							delete(open, m[1])
						}
					}
					if err != nil && killed {
						kills++
						for ck := range open {
							inFlight[ck]++
						}
					}
					mu.Unlock()
					if err == nil {
						return
					}
					if !killed {
						t.Errorf("worker %d: %v: %s", i, err, errb.String())
						return
					}
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		merged(t, series, table, plot, cache)
		for ck, n := range starts {
			if finishes[ck] > 1 || n != finishes[ck]+inFlight[ck] {
				t.Errorf("run %d: %s started %d times, finished %d, in flight at %d kills", r, ck, n, finishes[ck], inFlight[ck])
			}
		}
		if len(starts) > 10 {
			t.Errorf("run %d: %d checkpoints computed, want at most the 10 distinct ones", r, len(starts))
		}
		inflight, st := 0, 0
		for ck := range starts {
			inflight += inFlight[ck]
			st += starts[ck]
		}
		totalKills += kills
		totalInFlight += inflight
		totalStarts += st
	}
	t.Logf("%d runs: %d kills, %d computations started, %d of them cut by a kill in flight, so %d completed for %d distinct checkpoints",
		runs, totalKills, totalStarts, totalInFlight, totalStarts-totalInFlight, 10*runs)
}

// TestSweepSignals stops a worker with SIGINT and SIGTERM after its first
// checkpoint has started: it finishes that checkpoint, exits 130 or 143 with
// a one-line resume hint, and the rerun resumes from the cache.
func TestSweepSignals(t *testing.T) {
	series, _, _ := toySeries(t)
	for _, c := range []struct {
		sig  syscall.Signal
		code int
		name string
	}{{syscall.SIGINT, 130, "SIGINT"}, {syscall.SIGTERM, 143, "SIGTERM"}} {
		t.Run(c.name, func(t *testing.T) {
			cache := t.TempDir()
			args := append([]string{"diff", "--series", series, "--cache", cache, "--format", "csv"}, sweepArgs...)
			cmd := cli(t, nil, args...)
			pr, pw := io.Pipe()
			var errb bytes.Buffer
			cmd.Stderr = io.MultiWriter(&errb, pw)
			cmd.Stdout = io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() {
				buf := make([]byte, 1<<16)
				var seen bytes.Buffer
				for {
					n, err := pr.Read(buf)
					seen.Write(buf[:n])
					if bytes.Contains(seen.Bytes(), []byte(": computing\n")) {
						cmd.Process.Signal(c.sig)
						io.Copy(io.Discard, pr)
						return
					}
					if err != nil {
						return
					}
				}
			}()
			err := cmd.Wait()
			pw.Close()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != c.code {
				t.Fatalf("exit %v, want %d:\n%s", err, c.code, errb.String())
			}
			errs := errb.String()
			want := "sinkscope: diff: interrupted by " + c.name + ": stopped after 1 of 10 checkpoints; the cache holds every finished one: run the same command again to resume\n"
			if !strings.HasSuffix(errs, want) {
				t.Errorf("stderr ends %q, want %q", errs[max(0, len(errs)-200):], want)
			}
			if n := strings.Count(errs, ": computed\n"); n != 1 {
				t.Errorf("%d checkpoints finished before stopping, want 1 (the one in progress):\n%s", n, errs)
			}
			code, _, errs2 := outputs(t, cli(t, nil, args...))
			if code != 0 || strings.Count(errs2, ": cached") != 1 || strings.Count(errs2, ": computed") != 9 {
				t.Errorf("rerun: exit %d, want 0 with 1 cached and 9 computed:\n%s", code, errs2)
			}
		})
	}
}

// TestClusterScripts runs the README's Slurm array script and Kubernetes
// Indexed Job manifest (cluster/) as their schedulers would: n local worker
// processes with the scheduler's environment variables on one cache
// directory, then a merge, which must print the bytes of one uninterrupted
// run. The README must show both files exactly as they are.
func TestClusterScripts(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	series, table, plot := toySeries(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	speed := strings.Join(sweepArgs, " ")
	t.Run("slurm", func(t *testing.T) {
		script, err := os.ReadFile("../../cluster/sweep.sbatch")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), indentBlock(string(script))) {
			t.Error("README.md does not show cluster/sweep.sbatch as it is")
		}
		bash, err := exec.LookPath("bash")
		if err != nil {
			t.Skipf("no bash: %v", err)
		}
		m := regexp.MustCompile(`(?m)^#SBATCH --array=(\d+)-(\d+)$`).FindStringSubmatch(string(script))
		if m == nil {
			t.Fatal("cluster/sweep.sbatch has no #SBATCH --array=LO-HI line")
		}
		lo, _ := strconv.Atoi(m[1])
		hi, _ := strconv.Atoi(m[2])
		// sinkscope on PATH is this test binary, with fewer sequences.
		bin := t.TempDir()
		wrapper := fmt.Sprintf("#!/bin/sh\nSINKSCOPE_RUN_CLI=1 exec %q \"$@\" %s\n", exe, speed)
		if err := os.WriteFile(filepath.Join(bin, "sinkscope"), []byte(wrapper), 0o755); err != nil {
			t.Fatal(err)
		}
		cache := t.TempDir()
		var wg sync.WaitGroup
		for id := lo; id <= hi; id++ {
			c := exec.Command(bash, "../../cluster/sweep.sbatch")
			c.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "SERIES="+series, "CACHE="+cache,
				"SLURM_CPUS_PER_TASK=1", fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", id), fmt.Sprintf("SLURM_ARRAY_TASK_MIN=%d", lo),
				fmt.Sprintf("SLURM_ARRAY_TASK_MAX=%d", hi), fmt.Sprintf("SLURM_ARRAY_TASK_COUNT=%d", hi-lo+1), "JOB_COMPLETION_INDEX=")
			wg.Go(func() {
				code, _, errs := outputs(t, c)
				if code != 0 || !strings.Contains(errs, fmt.Sprintf("from SLURM_ARRAY_TASK_ID=%d of %d..%d", id, lo, hi)) {
					t.Errorf("task %d: exit %d:\n%s", id, code, errs)
				}
			})
		}
		wg.Wait()
		merged(t, series, table, plot, cache)
	})
	t.Run("kubernetes", func(t *testing.T) {
		manifest, err := os.ReadFile("../../cluster/sweep-job.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(readme), indentBlock(string(manifest))) {
			t.Error("README.md does not show cluster/sweep-job.yaml as it is")
		}
		m := regexp.MustCompile(`(?m)^  completions: (\d+)$`).FindStringSubmatch(string(manifest))
		cm := regexp.MustCompile(`(?m)^\s+command: (\[.*\])$`).FindStringSubmatch(string(manifest))
		if m == nil || cm == nil {
			t.Fatal("cluster/sweep-job.yaml has no completions or no one-line command")
		}
		n, _ := strconv.Atoi(m[1])
		var command []string
		if err := json.Unmarshal([]byte(cm[1]), &command); err != nil || len(command) < 2 || command[0] != "sinkscope" {
			t.Fatalf("command %s: %v; want a flow sequence starting with sinkscope", cm[1], err)
		}
		cache := t.TempDir()
		args := slices.Clone(command[1:])
		for i, a := range args {
			args[i] = strings.NewReplacer("/data/series", series, "/data/cache", cache).Replace(a)
		}
		if !slices.Contains(args, fmt.Sprint(n)) {
			t.Errorf("command %v does not pass --shards %d (the completions)", command, n)
		}
		var wg sync.WaitGroup
		for i := range n {
			c := cli(t, []string{fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)}, append(args, sweepArgs...)...)
			wg.Go(func() {
				code, _, errs := outputs(t, c)
				if code != 0 || !strings.Contains(errs, fmt.Sprintf("from JOB_COMPLETION_INDEX=%d with --shards %d", i, n)) {
					t.Errorf("completion %d: exit %d:\n%s", i, code, errs)
				}
			})
		}
		wg.Wait()
		merged(t, series, table, plot, cache)
	})
}

// indentBlock indents text by four spaces per non-empty line, as the README
// shows a file.
func indentBlock(text string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" {
			lines[i] = "    " + l
		}
	}
	return strings.Join(lines, "")
}

// TestSweepSharedUnsharded starts two whole-series runs at once on one
// cache: the locks split the work (each distinct checkpoint computed once
// in all, the other run waiting for it or finding it cached), and both
// print the bytes of one uninterrupted run.
func TestSweepSharedUnsharded(t *testing.T) {
	series, table, _ := toySeries(t)
	cache := t.TempDir()
	var wg sync.WaitGroup
	var mu sync.Mutex
	computed := 0
	for range 2 {
		c := cli(t, nil, append([]string{"diff", "--series", series, "--cache", cache}, sweepArgs...)...)
		wg.Go(func() {
			code, out, errs := outputs(t, c)
			if code != 0 || out != table {
				t.Errorf("exit %d, output equal to one run: %v:\n%s", code, out == table, errs)
			}
			mu.Lock()
			computed += strings.Count(errs, ": computed")
			mu.Unlock()
		})
	}
	wg.Wait()
	if computed != 10 {
		t.Errorf("two runs computed %d checkpoints in all, want the 10 distinct ones once each", computed)
	}
}
