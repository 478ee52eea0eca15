package metrics

import (
	"math"
	"reflect"
	"testing"
)

// TestClassifierDirection classifies scores at and around the thresholds
// of a rule dormant when high and of one dormant when low.
func TestClassifierDirection(t *testing.T) {
	high := DefaultClassifier()
	low := Classifier{Rule: RuleZNormLN, Dormant: 0.2, Active: 0.5}
	for _, tc := range []struct {
		c     Classifier
		score float64
		want  Class
	}{
		{high, 0.8, Dormant}, {high, 0.95, Dormant}, {high, 0.79, Mixed}, {high, 0.5, Mixed},
		{high, 0.4999, Active}, {high, 0, Active}, {high, math.NaN(), Unknown},
		{low, 0, Dormant}, {low, 0.2, Dormant}, {low, 0.2001, Mixed}, {low, 0.5, Mixed},
		{low, 0.5001, Active}, {low, 3, Active}, {low, math.NaN(), Unknown},
		{Classifier{Rule: RuleHeadOutNorm, Dormant: 1, Active: 1}, 1, Dormant},
		{Classifier{Rule: RuleHeadOutNorm, Dormant: 1, Active: 1}, 1.5, Active},
	} {
		if got := tc.c.Class(tc.score); got != tc.want {
			t.Errorf("%v (τ_dormant %g, τ_active %g): Class(%g) = %s, want %s", tc.c.Rule, tc.c.Dormant, tc.c.Active, tc.score, got, tc.want)
		}
	}
}

func TestClassifierValidate(t *testing.T) {
	for _, tc := range []struct {
		c  Classifier
		ok bool
	}{
		{DefaultClassifier(), true},
		{Classifier{Rule: RuleFirstAttn, Dormant: 0.4, Active: 0.5}, false}, // τ_active > τ_dormant
		{Classifier{Rule: RuleEntropy, Dormant: 1.2, Active: 0.5}, false},   // bounded score
		{Classifier{Rule: RuleOutNorm, Dormant: 0.8, Active: -0.1}, false},
		{Classifier{Rule: RuleZNormLN, Dormant: 0.2, Active: 0.5}, true},
		{Classifier{Rule: RuleZNormLN, Dormant: 0.8, Active: 0.5}, false}, // low rule: τ_dormant > τ_active
		{Classifier{Rule: RuleHeadOutNormLN, Dormant: 1.5, Active: 2}, true},
		{Classifier{Rule: RuleValueNormMean, Dormant: 3, Active: 40}, true}, // raw norm, unbounded
		{Classifier{Rule: RuleZNorm, Dormant: -1, Active: 2}, false},
		{Classifier{Rule: RuleZNorm, Dormant: 1, Active: math.Inf(1)}, false},
		{Classifier{Rule: RuleZNorm, Dormant: math.NaN(), Active: 1}, false},
		{Classifier{Rule: numRules, Dormant: 0.8, Active: 0.5}, false},
	} {
		if err := tc.c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%v (τ_dormant %g, τ_active %g): Validate() = %v, want ok %v", tc.c.Rule, tc.c.Dormant, tc.c.Active, err, tc.ok)
		}
	}
}

// TestRuleProperties checks each rule's name, direction and default
// thresholds, that the defaults validate, and that ParseRule reads the name.
func TestRuleProperties(t *testing.T) {
	type props struct {
		name            string
		low             bool
		dormant, active float64 // NaN: no default
	}
	nan := math.NaN()
	want := map[Rule]props{
		RuleFirstAttn:      {"first_attn", false, 0.8, 0.5},
		RuleEntropy:        {"entropy", false, 0.8, 0.5},
		RuleOutNorm:        {"out_norm", false, 0.8, 0.5},
		RuleValueNormFirst: {"value_norm_first", true, nan, nan},
		RuleValueNormMean:  {"value_norm_mean", true, nan, nan},
		RuleZNorm:          {"z_norm", true, nan, nan},
		RuleZNormLN:        {"ahon_ln", true, 0.2, 0.5},
		RuleHeadOutNorm:    {"head_out_norm", true, nan, nan},
		RuleHeadOutNormLN:  {"head_out_norm_ln", true, 0.2, 0.5},
		RuleLastOutNorm:    {"last_out_norm", true, nan, nan},
	}
	if len(Rules()) != len(want) {
		t.Fatalf("%d rules, want %d", len(Rules()), len(want))
	}
	for _, r := range Rules() {
		w := want[r]
		d, a, ok := r.DefaultThresholds()
		if r.String() != w.name || r.DormantWhenLow() != w.low || ok == math.IsNaN(w.dormant) ||
			(ok && (d != w.dormant || a != w.active)) {
			t.Errorf("rule %d: %q low %v defaults (%g, %g, %v), want %q low %v defaults (%g, %g)", int(r), r, r.DormantWhenLow(), d, a, ok, w.name, w.low, w.dormant, w.active)
		}
		if ok {
			if err := (Classifier{Rule: r, Dormant: d, Active: a}).Validate(); err != nil {
				t.Errorf("%v: default thresholds do not validate: %v", r, err)
			}
		}
		if p, err := ParseRule(w.name); err != nil || p != r {
			t.Errorf("ParseRule(%q) = %v, %v", w.name, p, err)
		}
	}
	if _, err := ParseRule("bogus"); err == nil {
		t.Error("ParseRule(bogus): no error")
	}
	if s := Rule(-1).String(); s != "Rule(-1)" {
		t.Errorf("Rule(-1).String() = %q", s)
	}
}

// TestRules computes every rule's domain score of two heads of one layer.
func TestRules(t *testing.T) {
	d := &DomainResult{Layers: 1, Heads: 2, HeadRes: []HeadResult{
		{Layer: 0, Head: 0, FirstAttn: 0.9, RowEntropy: 0.1, ColEntropy: 0.95, EntropyScore: 0.85, HeadOutNorm: 0.1,
			ValueNormFirst: 0.3, ValueNormMean: 0.6, ZNorm: 0.7, ZNormLN: 0.4, HeadOutNormLN: 0.15, LastOutNorm: 0.05},
		{Layer: 0, Head: 1, FirstAttn: 0.1, RowEntropy: 0.9, ColEntropy: 0.5, EntropyScore: 0.04, HeadOutNorm: 1.9,
			ValueNormFirst: 3, ValueNormMean: 2, ZNorm: 2.8, ZNormLN: 1.6, HeadOutNormLN: 1.85, LastOutNorm: 2.2},
	}}
	for _, tc := range []struct {
		rule Rule
		want []float64
	}{
		{RuleFirstAttn, []float64{0.9, 0.1}},
		// The mean of per-sequence products, not the product of the means.
		{RuleEntropy, []float64{0.85, 0.04}},
		{RuleOutNorm, []float64{1 - 0.1/1.0, 0}}, // layer mean 1.0; 1 − 1.9 clipped to 0
		{RuleValueNormFirst, []float64{0.3, 3}},
		{RuleValueNormMean, []float64{0.6, 2}},
		{RuleZNorm, []float64{0.7, 2.8}},
		{RuleZNormLN, []float64{0.4, 1.6}},
		{RuleHeadOutNorm, []float64{0.1, 1.9}},
		{RuleHeadOutNormLN, []float64{0.15, 1.85}},
		{RuleLastOutNorm, []float64{0.05, 2.2}},
	} {
		got := Classifier{Rule: tc.rule}.Scores(d)
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("%v: scores %v, want %v", tc.rule, got, tc.want)
				break
			}
		}
	}
	if got := (Classifier{Rule: numRules}).Scores(d); !math.IsNaN(got[0]) {
		t.Errorf("unknown rule: score %g, want NaN", got[0])
	}
}

func TestActiveDormant(t *testing.T) {
	names := []string{"prose", "code", "math"}
	classes := [][]Class{
		{Dormant, Active, Dormant, Mixed},  // prose
		{Active, Active, Mixed, Dormant},   // code
		{Dormant, Active, Dormant, Active}, // math
	}
	got := ActiveDormant(names, classes, 2)
	want := []Switch{
		{Head: Head{0, 0}, DormantOn: []string{"prose", "math"}, ActiveOn: []string{"code"}},
		{Head: Head{1, 1}, DormantOn: []string{"code"}, ActiveOn: []string{"math"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ActiveDormant = %+v, want %+v", got, want)
	}
}

func TestParseHeads(t *testing.T) {
	got, err := ParseHeads("16.25, 3.1,0.0")
	if err != nil || !reflect.DeepEqual(got, []Head{{16, 25}, {3, 1}, {0, 0}}) {
		t.Errorf("ParseHeads = %v, %v", got, err)
	}
	for _, bad := range []string{"", "3", "a.b", "1.-2", "1.2.3"} {
		if _, err := ParseHeads(bad); err == nil {
			t.Errorf("ParseHeads(%q): no error", bad)
		}
	}
	if s := (Head{16, 25}).String(); s != "16.25" {
		t.Errorf("Head.String = %q", s)
	}
}
