package metrics

import (
	"fmt"
	"math"
	"strings"
)

// Rule is a per-head score that heads can be classified by: one of the
// scores defined in the package documentation. Some are dormant when high
// (first_attn, entropy, out_norm), the norms when low; see DormantWhenLow.
type Rule int

// The rules. The first three keep their values from before the others were
// added.
const (
	// RuleFirstAttn scores a head by first_attn, its mean attention on the
	// first token (the paper's criterion).
	RuleFirstAttn Rule = iota
	// RuleEntropy scores a head by the entropy score, column entropy ×
	// (1 − row entropy): near 1 when every query concentrates on the same
	// key (a sink), near 0 for diffuse heads and for sharp heads that each
	// look at a different key (such as previous-token heads).
	RuleEntropy
	// RuleOutNorm scores a head by 1 − HeadOutNorm / (mean HeadOutNorm of
	// the heads of its layer), clipped to [0, 1]: near 1 when the head
	// writes far less than its neighbours (after Sandoval-Segura et al.).
	RuleOutNorm
	// The norm rules, named as in the package documentation's list.
	RuleValueNormFirst // value_norm_first
	RuleValueNormMean  // value_norm_mean
	RuleZNorm          // z_norm
	RuleZNormLN        // ahon_ln
	RuleHeadOutNorm    // head_out_norm
	RuleHeadOutNormLN  // head_out_norm_ln
	RuleLastOutNorm    // last_out_norm
	numRules
)

// ruleInfo describes one rule.
type ruleInfo struct {
	name    string
	stat    stat // the per-sequence value it reads (out_norm transforms statOutLN)
	low     bool // dormant when low
	bounded bool // scores lie in [0, 1]
	// Default thresholds; ok false when the score has no natural scale.
	dormant, active float64
	ok              bool
}

// ruleInfos is indexed by Rule; it is never written.
var ruleInfos = [numRules]ruleInfo{
	RuleFirstAttn:      {name: "first_attn", stat: statFirst, bounded: true, dormant: 0.8, active: 0.5, ok: true},
	RuleEntropy:        {name: "entropy", stat: statEntropy, bounded: true, dormant: 0.8, active: 0.5, ok: true},
	RuleOutNorm:        {name: "out_norm", stat: statOutLN, bounded: true, dormant: 0.8, active: 0.5, ok: true},
	RuleValueNormFirst: {name: "value_norm_first", stat: statValFirst, low: true},
	RuleValueNormMean:  {name: "value_norm_mean", stat: statValMean, low: true},
	RuleZNorm:          {name: "z_norm", stat: statZ, low: true},
	RuleZNormLN:        {name: "ahon_ln", stat: statZLN, low: true, dormant: 0.2, active: 0.5, ok: true},
	RuleHeadOutNorm:    {name: "head_out_norm", stat: statOut, low: true},
	RuleHeadOutNormLN:  {name: "head_out_norm_ln", stat: statOutLN, low: true, dormant: 0.2, active: 0.5, ok: true},
	RuleLastOutNorm:    {name: "last_out_norm", stat: statLastOut, low: true},
}

// Rules lists every rule, in order.
func Rules() []Rule {
	out := make([]Rule, numRules)
	for i := range out {
		out[i] = Rule(i)
	}
	return out
}

func (r Rule) valid() bool { return r >= 0 && r < numRules }

// String returns the rule's name: its flag value and column name.
func (r Rule) String() string {
	if !r.valid() {
		return fmt.Sprintf("Rule(%d)", int(r))
	}
	return ruleInfos[r].name
}

// ParseRule reads a rule name, as String prints it.
func ParseRule(s string) (Rule, error) {
	for _, r := range Rules() {
		if s == r.String() {
			return r, nil
		}
	}
	names := make([]string, numRules)
	for i, r := range Rules() {
		names[i] = r.String()
	}
	return 0, fmt.Errorf("metrics: unknown classification rule %q (want one of %s)", s, strings.Join(names, ", "))
}

// DormantWhenLow reports whether a low score marks a dormant head (the norm
// rules) rather than a high one (first_attn, entropy, out_norm).
func (r Rule) DormantWhenLow() bool { return r.valid() && ruleInfos[r].low }

// Bounded reports whether the rule's scores lie in [0, 1].
func (r Rule) Bounded() bool { return r.valid() && ruleInfos[r].bounded }

// DefaultThresholds returns the rule's default τ_dormant and τ_active; ok is
// false for the raw norms, whose scale depends on the model.
func (r Rule) DefaultThresholds() (dormant, active float64, ok bool) {
	if !r.valid() || !ruleInfos[r].ok {
		return math.NaN(), math.NaN(), false
	}
	return ruleInfos[r].dormant, ruleInfos[r].active, true
}

// Score returns head i's (layer-major) score on domain d: the HeadResult
// field the rule names, and for out_norm 1 − HeadOutNorm over the mean
// HeadOutNorm of the heads of its layer, clipped to [0, 1]. NaN for an
// unknown rule.
func (r Rule) Score(d *DomainResult, i int) float64 {
	hr := &d.HeadRes[i]
	switch r {
	case RuleFirstAttn:
		return hr.FirstAttn
	case RuleEntropy:
		return hr.EntropyScore
	case RuleOutNorm:
		var sum float64
		for h := 0; h < d.Heads; h++ {
			sum += d.Head(hr.Layer, h).HeadOutNorm
		}
		return clip01(1 - hr.HeadOutNorm/(sum/float64(d.Heads)))
	case RuleValueNormFirst:
		return hr.ValueNormFirst
	case RuleValueNormMean:
		return hr.ValueNormMean
	case RuleZNorm:
		return hr.ZNorm
	case RuleZNormLN:
		return hr.ZNormLN
	case RuleHeadOutNorm:
		return hr.HeadOutNorm
	case RuleHeadOutNormLN:
		return hr.HeadOutNormLN
	case RuleLastOutNorm:
		return hr.LastOutNorm
	}
	return math.NaN()
}

// sequenceScore returns the rule's score of one head on one sequence from
// the head's per-sequence values.
func (r Rule) sequenceScore(v *values) float64 {
	if !r.valid() {
		return math.NaN()
	}
	x := v[ruleInfos[r].stat]
	if r == RuleOutNorm {
		return clip01(1 - x)
	}
	return x
}

// clip01 clips x to [0, 1], keeping NaN.
func clip01(x float64) float64 {
	if math.IsNaN(x) {
		return x
	}
	return math.Min(1, math.Max(0, x))
}
