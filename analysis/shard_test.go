package analysis

import (
	"errors"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	for _, c := range []struct {
		spec        string
		index, cnt  int
		wantErrPart string
	}{
		{"0/1", 0, 1, ""}, {"2/5", 2, 5, ""}, {"4/5", 4, 5, ""},
		{"5/5", 0, 0, "0 ≤ i < n"}, {"-1/3", 0, 0, "0 ≤ i < n"}, {"1/0", 0, 0, "0 ≤ i < n"}, {"1", 0, 0, "want i/n"}, {"a/b", 0, 0, "want i/n"},
	} {
		s, err := ParseShard(c.spec)
		if c.wantErrPart != "" {
			var oe OptionError
			if err == nil || !strings.Contains(err.Error(), c.wantErrPart) || !errors.As(err, &oe) {
				t.Errorf("%q: %v, want a usage error with %q", c.spec, err, c.wantErrPart)
			}
			continue
		}
		if err != nil || s.Index != c.index || s.Count != c.cnt {
			t.Errorf("%q: %+v, %v; want %d of %d", c.spec, s, err, c.index, c.cnt)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	for _, c := range []struct {
		name   string
		env    map[string]string
		shards int
		ok     bool
		index  int
		count  int
		source string // in Source, or in the error when index < 0
	}{
		{"none", nil, 0, false, 0, 0, ""},
		{"slurm 0-based", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, true, 2, 4, "SLURM_ARRAY_TASK_ID=2 of 0..3"},
		{"slurm 1-based", map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "12", "SLURM_ARRAY_TASK_COUNT": "12"}, 0, true, 0, 12, "of 1..12"},
		{"slurm step", map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, true, 2, 4, "step 2"},
		{"slurm agrees with --shards", map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2"}, 3, true, 0, 3, ""},
		{"slurm irregular list", map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "9", "SLURM_ARRAY_TASK_COUNT": "3"}, 0, false, -1, 0, "irregular --array"},
		{"slurm without min", map[string]string{"SLURM_ARRAY_TASK_ID": "5"}, 0, false, -1, 0, "SLURM_ARRAY_TASK_MIN is not"},
		{"slurm disagrees with --shards", map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2"}, 4, false, -1, 0, "--shards 4, but the array has 3 tasks"},
		{"kubernetes", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 5, true, 3, 5, "JOB_COMPLETION_INDEX=3 with --shards 5"},
		{"kubernetes without --shards", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 0, false, -1, 0, "give the number of completions with --shards"},
		{"kubernetes past the count", map[string]string{"JOB_COMPLETION_INDEX": "5"}, 5, false, -1, 0, "not below --shards 5"},
		{"--shards without a scheduler", nil, 3, false, -1, 0, "neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, ok, err := ShardFromEnv(func(k string) string { return c.env[k] }, c.shards)
			if c.index < 0 {
				if err == nil || !strings.Contains(err.Error(), c.source) {
					t.Fatalf("%+v, %v; want an error with %q", s, err, c.source)
				}
				return
			}
			if err != nil || ok != c.ok || s.Index != c.index || s.Count != c.count || !strings.Contains(s.Source, c.source) {
				t.Fatalf("%+v ok %v, %v; want index %d of %d from %q", s, ok, err, c.index, c.count, c.source)
			}
		})
	}
}

// TestAssign checks the balance bound (every worker within the largest item
// of the mean) and that appending checkpoints never moves earlier ones.
func TestAssign(t *testing.T) {
	for _, sizes := range [][]int64{
		{5, 5, 5, 5, 5, 5, 5, 5, 5, 5},
		{100, 1, 1, 1, 1, 1, 1, 1, 1, 50, 50, 3},
		{7, 3, 9, 2, 2, 8, 1, 6, 4, 4, 5, 10, 3, 3},
	} {
		for _, n := range []int{1, 2, 3, 5} {
			w := assign(sizes, n)
			load := make([]int64, n)
			var total, biggest int64
			for i, b := range sizes {
				load[w[i]] += b
				total += b
				biggest = max(biggest, b)
			}
			for k, l := range load {
				if float64(l) > float64(total)/float64(n)+float64(biggest) {
					t.Errorf("sizes %v over %d workers: worker %d has %d bytes, above the mean %.1f + the largest %d",
						sizes, n, k, l, float64(total)/float64(n), biggest)
				}
			}
			for cut := range sizes {
				prefix := assign(sizes[:cut], n)
				for i := range prefix {
					if prefix[i] != w[i] {
						t.Fatalf("sizes %v over %d workers: item %d is on worker %d with %d items, %d with all", sizes, n, i, prefix[i], cut, w[i])
					}
				}
			}
		}
	}
	// Equal sizes: round robin, every worker within one item of the others.
	if w := assign([]int64{4, 4, 4, 4, 4, 4, 4}, 3); w[0] != 0 || w[1] != 1 || w[2] != 2 || w[3] != 0 || w[6] != 0 {
		t.Errorf("equal sizes: %v, want round robin", w)
	}
}
