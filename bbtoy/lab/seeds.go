package lab

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/sinkscope/sinkscope/internal/stats"
)

// SeedCheck is one acceptance check of an experiment over several seeds.
type SeedCheck struct {
	Check            // the check's definition; Value is the median, Pass the verdict, Step -1 when Steps differ
	Values []float64 // [len(seeds)] the value on each seed
	Steps  []int     // [len(seeds)] the step each seed measured it at (a threshold is reached at different steps)
	Passes int       // seeds on which the check passed
}

// StepRange is the step the check was measured at, "600", or the range of
// steps over the seeds, "3800-4050".
func (sc SeedCheck) StepRange() string {
	if len(sc.Steps) == 0 {
		return strconv.Itoa(sc.Step)
	}
	lo, hi := slices.Min(sc.Steps), slices.Max(sc.Steps)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// SeedStudy is an experiment repeated with several seeds.
type SeedStudy struct {
	Experiment string
	Seeds      []uint64
	Results    []*ReproResult // [len(Seeds)]
	Checks     []SeedCheck    // in the order of ReproResult.Checks
}

// ReproduceSeeds runs experiment exp once per seed, each in o.Dir/seed-N,
// and gathers every check over the seeds. At this scale whether and when
// the sink forms varies from seed to seed, so one run says little about a
// bound; a check of the study passes when it passes on more than half of the
// seeds, and its Value is the median of its values that are not NaN.
func ReproduceSeeds(ctx context.Context, exp string, o ReproOptions, seeds []uint64) (*SeedStudy, error) {
	if len(seeds) == 0 {
		return nil, optionf("a seed study needs at least one seed")
	}
	st := &SeedStudy{Experiment: exp, Seeds: seeds}
	dir := o.Dir
	for _, s := range seeds {
		if s == 0 {
			return nil, optionf("seed 0 is not allowed (it means the default seed)")
		}
		o.Seed = s
		o.Dir = filepath.Join(dir, fmt.Sprintf("seed-%d", s))
		res, err := Reproduce(ctx, exp, o)
		if err != nil {
			return nil, fmt.Errorf("bbtoy: seed %d: %w", s, err)
		}
		st.Results = append(st.Results, res)
	}
	for i, ch := range st.Results[0].Checks {
		sc := SeedCheck{Check: ch}
		for j, res := range st.Results {
			if len(res.Checks) != len(st.Results[0].Checks) || res.Checks[i].Run != ch.Run || res.Checks[i].Metric != ch.Metric {
				return nil, fmt.Errorf("bbtoy: seed %d made different checks from seed %d", seeds[j], seeds[0])
			}
			c := res.Checks[i]
			sc.Values = append(sc.Values, c.Value)
			sc.Steps = append(sc.Steps, c.Step)
			if c.Step != ch.Step {
				sc.Step = -1
			}
			if c.Pass {
				sc.Passes++
			}
		}
		var finite []float64 // a threshold never reached has NaN values
		for _, v := range sc.Values {
			if !math.IsNaN(v) {
				finite = append(finite, v)
			}
		}
		sc.Value = stats.Median(finite)
		sc.Pass = 2*sc.Passes > len(seeds)
		st.Checks = append(st.Checks, sc)
	}
	return st, nil
}
