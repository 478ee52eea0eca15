package analysis

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sinkscope/sinkscope/internal/atomicfile"
)

// Shard is one worker's share of a series run as a job array: worker Index
// (0-based) of Count. The zero Shard (Count 0) is the whole series.
type Shard struct {
	Index, Count int
	Source       string // where Index and Count were read from, for the log
}

// String reads "shard 2 of 3 (index 1, from SLURM_ARRAY_TASK_ID=2 of 1..3)".
func (s Shard) String() string {
	return fmt.Sprintf("shard %d of %d (index %d, from %s)", s.Index+1, s.Count, s.Index, s.Source)
}

// ParseShard reads "i/n": worker i (0-based, as a Kubernetes completion
// index) of n.
func ParseShard(spec string) (Shard, error) {
	a, b, ok := strings.Cut(spec, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, OptionError{fmt.Errorf("--shard %q: want i/n with 0 ≤ i < n (i is 0-based), e.g. 0/4", spec)}
	}
	return Shard{Index: i, Count: n, Source: "--shard " + spec}, nil
}

// ShardOf is the worker's share from --shard spec when it is given (with
// --shards, when not 0, agreeing), else from the scheduler's environment
// (ShardFromEnv); the zero Shard when neither says.
func ShardOf(spec string, shards int, getenv func(string) string) (Shard, error) {
	if spec == "" {
		s, _, err := ShardFromEnv(getenv, shards)
		return s, err
	}
	s, err := ParseShard(spec)
	if err == nil && shards != 0 && shards != s.Count {
		return Shard{}, OptionError{fmt.Errorf("--shard %s and --shards %d disagree", spec, shards)}
	}
	return s, err
}

// ShardFromEnv reads a job array's task index from the scheduler's
// environment (getenv is os.Getenv in the command): Slurm's
// SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_MIN, _MAX, _COUNT and _STEP, or
// a Kubernetes Indexed Job's JOB_COMPLETION_INDEX, which carries no count:
// shards gives it (for Slurm, when not 0, it must agree). ok is false when
// neither is set.
func ShardFromEnv(getenv func(string) string, shards int) (s Shard, ok bool, err error) {
	num := func(name string, def int) (int, error) {
		v := getenv(name)
		if v == "" {
			if def >= 0 {
				return def, nil
			}
			return 0, OptionError{fmt.Errorf("%s is set but %s is not", "SLURM_ARRAY_TASK_ID", name)}
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return 0, OptionError{fmt.Errorf("%s=%q is not a task number", name, v)}
		}
		return n, nil
	}
	if getenv("SLURM_ARRAY_TASK_ID") != "" {
		id, err := num("SLURM_ARRAY_TASK_ID", -1)
		if err != nil {
			return Shard{}, false, err
		}
		lo, err := num("SLURM_ARRAY_TASK_MIN", -1)
		if err != nil {
			return Shard{}, false, err
		}
		hi, err := num("SLURM_ARRAY_TASK_MAX", -1)
		if err != nil {
			return Shard{}, false, err
		}
		step, err := num("SLURM_ARRAY_TASK_STEP", 1)
		if err != nil {
			return Shard{}, false, err
		}
		step = max(step, 1)
		span := (hi-lo)/step + 1
		count, err := num("SLURM_ARRAY_TASK_COUNT", span)
		if err != nil {
			return Shard{}, false, err
		}
		src := fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d of %d..%d", id, lo, hi)
		if step > 1 {
			src += fmt.Sprintf(" step %d", step)
		}
		switch {
		case hi < lo || id < lo || id > hi || (id-lo)%step != 0:
			return Shard{}, false, OptionError{fmt.Errorf("%s: the task is not on the array's range", src)}
		case count != span:
			return Shard{}, false, OptionError{fmt.Errorf("%s: SLURM_ARRAY_TASK_COUNT=%d, but the range holds %d tasks: an irregular --array list; give each task --shard i/n",
				src, count, span)}
		case shards != 0 && shards != count:
			return Shard{}, false, OptionError{fmt.Errorf("%s: --shards %d, but the array has %d tasks", src, shards, count)}
		}
		return Shard{Index: (id - lo) / step, Count: count, Source: src}, true, nil
	}
	if v := getenv("JOB_COMPLETION_INDEX"); v != "" {
		i, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil || i < 0:
			return Shard{}, false, OptionError{fmt.Errorf("JOB_COMPLETION_INDEX=%q is not a completion index", v)}
		case shards < 1:
			return Shard{}, false, OptionError{fmt.Errorf("JOB_COMPLETION_INDEX=%d is set: give the number of completions with --shards n", i)}
		case i >= shards:
			return Shard{}, false, OptionError{fmt.Errorf("JOB_COMPLETION_INDEX=%d is not below --shards %d", i, shards)}
		}
		return Shard{Index: i, Count: shards, Source: fmt.Sprintf("JOB_COMPLETION_INDEX=%d with --shards %d", i, shards)}, true, nil
	}
	if shards != 0 {
		return Shard{}, false, OptionError{fmt.Errorf("--shards %d: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set (give --shard i/n instead)", shards)}
	}
	return Shard{}, false, nil
}

// assign splits work items of the given sizes among n workers, returning
// each item's worker: in order, each item goes to the worker with the fewest
// bytes so far (the lowest index among equals). Every worker's load is
// within the largest item of the mean, and appending items to the list
// never moves the ones before them.
func assign(sizes []int64, n int) []int {
	d := newDealer(n)
	out := make([]int, len(sizes))
	for i, b := range sizes {
		out[i] = d.deal(b)
	}
	return out
}

// dealer is assign one item at a time.
type dealer struct{ load []int64 }

func newDealer(n int) *dealer { return &dealer{load: make([]int64, n)} }

// deal gives the next item, of b bytes, to a worker and returns it.
func (d *dealer) deal(b int64) int {
	w := 0
	for k := 1; k < len(d.load); k++ {
		if d.load[k] < d.load[w] {
			w = k
		}
	}
	d.load[w] += b
	return w
}

// announce records in the cache that worker s uses it (Dir/workers/N-I,
// holding host and pid), and returns whether worker k of the same count
// has.
func (c Cache) announce(s Shard) (present func(k int) bool) {
	path := func(k int) string { return filepath.Join(c.Dir, "workers", fmt.Sprintf("%d-%d", s.Count, k)) }
	host, _ := os.Hostname()
	if os.MkdirAll(filepath.Dir(path(s.Index)), 0o755) == nil {
		atomicfile.WriteFile(path(s.Index), fmt.Appendf(nil, "%s %d\n", host, os.Getpid())) // without it, others hash this share too
	}
	return func(k int) bool {
		_, err := os.Stat(path(k))
		return err == nil
	}
}
