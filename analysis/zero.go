package analysis

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
)

// Zeroing asks Heads for calibrated zeroing curves, after Sandoval-Segura et
// al. ("Identifying and Evaluating Inactive Heads in Pretrained LLMs", ICLR
// 2026): which rule finds heads that can be removed for free.
//
// For each rule, the scores of every (head, sequence) pair of a domain form
// one distribution. For a fraction f, τ is its empirical quantile
// (gonum's stat.Empirical) such that the pairs strictly more dormant than τ
// (a score above τ for first_attn, below it for the norms) are at most a
// fraction f of all pairs. Each sequence is then run again with the heads
// that are past τ on it zeroed (their hook_z set to 0), and the curve point
// is the mean over sequences of the loss with them zeroed minus the loss
// without. At f = 0 no head is zeroed and Δloss is exactly 0.
type Zeroing struct {
	Rules []metrics.Rule
	Fracs []float64 // each in [0, 1]
}

// Curve is one rule's zeroing curve on a domain.
type Curve struct {
	Rule   metrics.Rule
	Points []CurvePoint // one per Zeroing.Fracs, in order
}

// CurvePoint is the cost of zeroing one fraction of the heads.
type CurvePoint struct {
	Frac   float64 // the fraction asked for
	Tau    float64 // the threshold (NaN at f = 0: nothing is past it)
	Zeroed float64 // the fraction of (head, sequence) pairs zeroed
	DLoss  float64 // mean over sequences of loss(zeroed) − loss
}

func (z *Zeroing) check() error {
	if z == nil {
		return nil
	}
	if len(z.Rules) == 0 || len(z.Fracs) == 0 {
		return OptionError{errors.New("zeroing: need at least one rule and one fraction")}
	}
	for _, f := range z.Fracs {
		if !(f >= 0 && f <= 1) {
			return OptionError{fmt.Errorf("zeroing: fraction %g: want one in [0, 1]", f)}
		}
	}
	for _, r := range z.Rules {
		if _, err := metrics.ParseRule(r.String()); err != nil {
			return OptionError{err}
		}
	}
	return nil
}

// passes is the number of extra forward passes per sequence at most: the
// base loss again, and one per rule and nonzero fraction.
func (z *Zeroing) passes() int {
	n := 0
	for _, f := range z.Fracs {
		if f > 0 {
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return 1 + n*len(z.Rules)
}

// zeroRun collects one domain's per-sequence scores and then measures its
// curves.
type zeroRun struct {
	z      *Zeroing
	heads  int
	cur    int         // index (in Domain.Each order) of the sequence being added
	seq    []int       // [recorded] index of each recorded sequence
	scores [][]float64 // [rule][recorded*heads] per-(sequence, head) scores
}

func (z *Zeroing) start(info model.Info) *zeroRun {
	return &zeroRun{z: z, heads: info.Layers * info.Heads, scores: make([][]float64, len(z.Rules))}
}

// record is the accumulator's per-sequence callback.
func (r *zeroRun) record(s metrics.SequenceScores) {
	r.seq = append(r.seq, r.cur)
	for j, rule := range r.z.Rules {
		for h := 0; h < r.heads; h++ {
			r.scores[j] = append(r.scores[j], s.Score(rule, h))
		}
	}
}

// dormancy maps a score to "higher is more dormant".
func dormancy(rule metrics.Rule, x float64) float64 {
	if rule.DormantWhenLow() {
		return -x
	}
	return x
}

// thresholds returns, per fraction, the dormancy above which a pair is
// zeroed (+Inf: none), from the finite scores.
func (r *zeroRun) thresholds(j int) []float64 {
	rule := r.z.Rules[j]
	var d []float64
	for _, x := range r.scores[j] {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			d = append(d, dormancy(rule, x))
		}
	}
	slices.Sort(d)
	out := make([]float64, len(r.z.Fracs))
	for i, f := range r.z.Fracs {
		out[i] = math.Inf(1)
		if f > 0 && len(d) > 0 {
			out[i] = stat.Quantile(1-f, stat.Empirical, d, nil)
		}
	}
	return out
}

// curves runs the domain's sequences again with the heads past each
// threshold zeroed.
func (r *zeroRun) curves(m model.Model, d Domain, progress func()) ([]Curve, error) {
	info := m.Info()
	taus := make([][]float64, len(r.z.Rules))
	sums := make([][]metrics.Welford, len(r.z.Rules))
	zeroed := make([][]int, len(r.z.Rules))
	for j := range r.z.Rules {
		taus[j] = r.thresholds(j)
		sums[j] = make([]metrics.Welford, len(r.z.Fracs))
		zeroed[j] = make([]int, len(r.z.Fracs))
	}
	step := func() {
		if progress != nil {
			progress()
		}
	}
	next, i := 0, -1
	err := d.Each(func(s metrics.Sequence) error {
		i++
		if next >= len(r.seq) || r.seq[next] != i {
			return nil // skipped by the accumulator: no counted query
		}
		k := next
		next++
		// The base loss again, through the same attention path as the
		// zeroed passes (a pass with hook_pattern hooked takes another,
		// equal up to rounding).
		base, err := metrics.Loss(m, s, nil)
		if err != nil {
			return fmt.Errorf("sequence %d: %w", i+1, err)
		}
		step()
		for j, rule := range r.z.Rules {
			scores := r.scores[j][k*r.heads : (k+1)*r.heads]
			for fi, f := range r.z.Fracs {
				var hs hooks.Set
				n := 0
				for h, x := range scores {
					if !math.IsNaN(x) && dormancy(rule, x) > taus[j][fi] {
						hs.Add(hooks.ZeroHead(h/info.Heads, h%info.Heads))
						n++
					}
				}
				zeroed[j][fi] += n
				if f == 0 {
					sums[j][fi].Add(0)
					continue
				}
				dl := 0.0
				if n > 0 {
					l, err := metrics.Loss(m, s, &hs)
					if err != nil {
						return fmt.Errorf("sequence %d, %s at %g: %w", i+1, rule, f, err)
					}
					dl = l - base
				}
				step()
				if !math.IsNaN(dl) {
					sums[j][fi].Add(dl)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	pairs := float64(len(r.seq) * r.heads)
	var out []Curve
	for j, rule := range r.z.Rules {
		c := Curve{Rule: rule}
		for fi, f := range r.z.Fracs {
			tau := math.NaN()
			if !math.IsInf(taus[j][fi], 0) {
				tau = dormancy(rule, taus[j][fi])
			}
			c.Points = append(c.Points, CurvePoint{Frac: f, Tau: tau, Zeroed: float64(zeroed[j][fi]) / pairs, DLoss: sums[j][fi].Mean()})
		}
		out = append(out, c)
	}
	return out, nil
}

// digest describes the options results depend on, for the cache.
func (o HeadOptions) digest() string {
	s := fmt.Sprintf("ablate-all=%v ablate=%v", o.AblateAll, o.Ablate)
	if o.Zeroing != nil {
		s += fmt.Sprintf(" zeroing=%v@%v", o.Zeroing.Rules, o.Zeroing.Fracs)
	}
	return s
}
