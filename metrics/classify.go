package metrics

import (
	"fmt"
	"math"
)

// Class is a head's state on a domain.
type Class string

// The classes. Unknown is given when a head has no score (no sequence).
const (
	Active  Class = "active"
	Dormant Class = "dormant"
	Mixed   Class = "mixed"
	Unknown Class = "unknown"
)

// Classifier turns scores into classes. For a rule that is dormant when high
// a head is dormant when its score is ≥ Dormant, active when it is < Active
// and mixed in between; for a rule that is dormant when low (the norms) it is
// dormant when its score is ≤ Dormant, active when it is > Active.
type Classifier struct {
	Rule    Rule
	Dormant float64 // τ_dormant
	Active  float64 // τ_active
}

// DefaultClassifier is the first_attn rule with τ_dormant 0.8 and τ_active 0.5.
func DefaultClassifier() Classifier {
	return Classifier{Rule: RuleFirstAttn, Dormant: 0.8, Active: 0.5}
}

// Validate checks that the rule is known and the thresholds are ordered for
// its direction: 0 ≤ τ_active ≤ τ_dormant when dormant is high, 0 ≤ τ_dormant
// ≤ τ_active when dormant is low, and both ≤ 1 for a rule bounded to [0, 1].
func (c Classifier) Validate() error {
	if !c.Rule.valid() {
		return fmt.Errorf("metrics: unknown rule %v", c.Rule)
	}
	lo, hi, order := c.Active, c.Dormant, "0 ≤ τ_active (%g) ≤ τ_dormant (%g)"
	if c.Rule.DormantWhenLow() {
		lo, hi, order = c.Dormant, c.Active, "0 ≤ τ_dormant (%g) ≤ τ_active (%g)"
	}
	if c.Rule.Bounded() {
		order += " ≤ 1"
	}
	if !(lo >= 0 && lo <= hi && !math.IsInf(hi, 0)) || (c.Rule.Bounded() && hi > 1) {
		return fmt.Errorf("metrics: rule %v: thresholds need "+order, c.Rule, lo, hi)
	}
	return nil
}

// Scores returns every head's score under the rule, layer-major.
func (c Classifier) Scores(d *DomainResult) []float64 {
	out := make([]float64, len(d.HeadRes))
	for i := range d.HeadRes {
		out[i] = c.Rule.Score(d, i)
	}
	return out
}

// Class classifies one score.
func (c Classifier) Class(score float64) Class {
	low := c.Rule.DormantWhenLow()
	switch {
	case math.IsNaN(score):
		return Unknown
	case low && score <= c.Dormant, !low && score >= c.Dormant:
		return Dormant
	case low && score > c.Active, !low && score < c.Active:
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
