package metrics

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// StepInfo is where a checkpoint sits in training, as read from its name.
type StepInfo struct {
	Stage  int   // training stage ("stage2-…"); 0 when the name has none
	Step   int   // optimisation step; -1 when the name has none
	Tokens int64 // tokens seen; -1 when the name has none
}

var (
	stageRe  = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])stage[-_]?(\d+)`)
	stepRe   = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])step[-_]?(\d+)`)
	tokensRe = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])tokens[-_]?(\d+(?:\.\d+)?)([kmbt]?)`)
)

// tokenUnits are the suffixes of a token count: "tokens4M" is 4×10⁶ tokens,
// "tokens618B" 618×10⁹.
var tokenUnits = map[string]float64{"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}

// ParseStep reads the training position from a checkpoint or revision name:
// "step1000-tokens4M", "step147500-tokens618B", "stage1-step5000-tokens21B"
// (OLMo), "step_1000", "step-000300" (bbtoy's checkpoint directories) and the
// like. Parts the name lacks are -1 (Step, Tokens) or 0 (Stage).
func ParseStep(name string) StepInfo {
	s := StepInfo{Step: -1, Tokens: -1}
	if m := stageRe.FindStringSubmatch(name); m != nil {
		if v, err := strconv.Atoi(m[1]); err == nil {
			s.Stage = v
		}
	}
	if m := stepRe.FindStringSubmatch(name); m != nil {
		if v, err := strconv.Atoi(m[1]); err == nil {
			s.Step = v
		}
	}
	if m := tokensRe.FindStringSubmatch(name); m != nil {
		unit := tokenUnits[strings.ToLower(m[2])]
		if v, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			if float64(v)*unit < math.MaxInt64/2 {
				s.Tokens = v * int64(unit)
			}
		} else if f, err := strconv.ParseFloat(m[1], 64); err == nil && f*unit < math.MaxInt64/2 {
			s.Tokens = int64(math.Round(f * unit))
		}
	}
	return s
}

// OrderByStep returns the order in which to read the named checkpoints: those
// whose names carry a step first, by (stage, step, tokens, name), then the
// rest by name. The result is a permutation of the indices of names.
func OrderByStep(names []string) []int {
	info := make([]StepInfo, len(names))
	order := make([]int, len(names))
	for i, n := range names {
		info[i] = ParseStep(n)
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := info[order[a]], info[order[b]]
		if (x.Step >= 0) != (y.Step >= 0) {
			return x.Step >= 0
		}
		if x.Step >= 0 {
			if x.Stage != y.Stage {
				return x.Stage < y.Stage
			}
			if x.Step != y.Step {
				return x.Step < y.Step
			}
			if x.Tokens != y.Tokens {
				return x.Tokens < y.Tokens
			}
		}
		return names[order[a]] < names[order[b]]
	})
	return order
}

// Transition is one head's class over an ordered series of checkpoints.
type Transition struct {
	Head
	Classes []Class // [checkpoints], in series order
	// DormantFrom is the first checkpoint from which the head is dormant in
	// every later one (0: dormant throughout), -1 when it is not dormant at
	// the last checkpoint.
	DormantFrom int
}

// Transitions follows every head through a series: classes[c] holds the
// layer-major classes of checkpoint c (all of one shape, heads per layer).
// Heads come back in layer-major order.
func Transitions(classes [][]Class, heads int) []Transition {
	if len(classes) == 0 || heads <= 0 {
		return nil
	}
	n := len(classes[0])
	out := make([]Transition, n)
	for i := range out {
		t := Transition{Head: Head{Layer: i / heads, Head: i % heads}, Classes: make([]Class, len(classes)), DormantFrom: -1}
		for c, cs := range classes {
			t.Classes[c] = Unknown
			if i < len(cs) {
				t.Classes[c] = cs[i]
			}
		}
		for c := len(t.Classes) - 1; c >= 0 && t.Classes[c] == Dormant; c-- {
			t.DormantFrom = c
		}
		out[i] = t
	}
	return out
}
