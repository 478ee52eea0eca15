package metrics

import (
	"fmt"
	"math"
)

// Rule is how a head's dormancy score is computed. Every rule gives a score in
// [0, 1] where higher means more sink-like, so the same two thresholds apply.
type Rule int

const (
	// RuleFirstAttn scores a head by first_attn, its mean attention on the
	// first token (the paper's criterion).
	RuleFirstAttn Rule = iota
	// RuleEntropy scores a head by ColEntropy × (1 − RowEntropy): near 1 when
	// every query concentrates on the same key (a sink), near 0 for diffuse
	// heads and for sharp heads that each look at a different key (such as
	// previous-token heads).
	RuleEntropy
	// RuleOutNorm scores a head by 1 − HeadOutNorm / (mean HeadOutNorm of the
	// heads of its layer), clipped to [0, 1]: near 1 when the head writes far
	// less than its neighbours (after Sandoval-Segura et al.).
	RuleOutNorm
)

var ruleNames = [...]string{RuleFirstAttn: "first_attn", RuleEntropy: "entropy", RuleOutNorm: "out_norm"}

// String returns the rule's flag name.
func (r Rule) String() string {
	if r < 0 || int(r) >= len(ruleNames) {
		return fmt.Sprintf("Rule(%d)", int(r))
	}
	return ruleNames[r]
}

// ParseRule reads a rule name: first_attn, entropy or out_norm.
func ParseRule(s string) (Rule, error) {
	for r, n := range ruleNames {
		if s == n {
			return Rule(r), nil
		}
	}
	return 0, fmt.Errorf("metrics: unknown classification rule %q (want first_attn, entropy or out_norm)", s)
}

// Class is a head's state on a domain.
type Class string

// The classes. Unknown is given when a head has no score (no sequence).
const (
	Active  Class = "active"
	Dormant Class = "dormant"
	Mixed   Class = "mixed"
	Unknown Class = "unknown"
)

// Classifier turns scores into classes: dormant when score ≥ Dormant, active
// when score < Active, mixed in between.
type Classifier struct {
	Rule    Rule
	Dormant float64 // τ_dormant
	Active  float64 // τ_active
}

// DefaultClassifier is the first_attn rule with τ_dormant 0.8 and τ_active 0.5.
func DefaultClassifier() Classifier {
	return Classifier{Rule: RuleFirstAttn, Dormant: 0.8, Active: 0.5}
}

// Validate checks that the thresholds are ordered and in [0, 1].
func (c Classifier) Validate() error {
	if !(c.Active >= 0 && c.Active <= c.Dormant && c.Dormant <= 1) {
		return fmt.Errorf("metrics: thresholds need 0 ≤ τ_active (%g) ≤ τ_dormant (%g) ≤ 1", c.Active, c.Dormant)
	}
	if c.Rule < 0 || int(c.Rule) >= len(ruleNames) {
		return fmt.Errorf("metrics: unknown rule %v", c.Rule)
	}
	return nil
}

// Scores returns every head's score under the rule, layer-major.
func (c Classifier) Scores(d *DomainResult) []float64 {
	out := make([]float64, len(d.HeadRes))
	for i, r := range d.HeadRes {
		switch c.Rule {
		case RuleFirstAttn:
			out[i] = r.FirstAttn
		case RuleEntropy:
			out[i] = r.ColEntropy * (1 - r.RowEntropy)
		case RuleOutNorm:
			var sum float64
			for h := 0; h < d.Heads; h++ {
				sum += d.Head(r.Layer, h).HeadOutNorm
			}
			mean := sum / float64(d.Heads)
			out[i] = math.Min(1, math.Max(0, 1-r.HeadOutNorm/mean))
		default:
			out[i] = math.NaN()
		}
	}
	return out
}

// Class classifies one score.
func (c Classifier) Class(score float64) Class {
	switch {
	case math.IsNaN(score):
		return Unknown
	case score >= c.Dormant:
		return Dormant
	case score < c.Active:
		return Active
	}
	return Mixed
}

// Classify returns every head's class, layer-major.
func (c Classifier) Classify(d *DomainResult) []Class {
	s := c.Scores(d)
	out := make([]Class, len(s))
	for i, x := range s {
		out[i] = c.Class(x)
	}
	return out
}

// Switch is an active-dormant head: dormant on some domains and active on
// others.
type Switch struct {
	Head
	DormantOn []string // domains where the head is dormant, in the order given
	ActiveOn  []string // domains where it is active
}

// ActiveDormant finds the heads dormant on at least one domain and active on at
// least one other. classes[j] holds the layer-major classes of the heads on
// domain names[j] (all of one model's shape); heads are returned in
// layer-major order.
func ActiveDormant(names []string, classes [][]Class, heads int) []Switch {
	if len(classes) == 0 || heads <= 0 {
		return nil
	}
	var out []Switch
	for i := range classes[0] {
		var sw Switch
		for j, cs := range classes {
			switch cs[i] {
			case Dormant:
				sw.DormantOn = append(sw.DormantOn, names[j])
			case Active:
				sw.ActiveOn = append(sw.ActiveOn, names[j])
			}
		}
		if len(sw.DormantOn) > 0 && len(sw.ActiveOn) > 0 {
			sw.Head = Head{Layer: i / heads, Head: i % heads}
			out = append(out, sw)
		}
	}
	return out
}
