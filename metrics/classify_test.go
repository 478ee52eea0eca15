package metrics

import (
	"math"
	"reflect"
	"testing"
)

func TestClassifierThresholds(t *testing.T) {
	c := DefaultClassifier()
	for _, tc := range []struct {
		score float64
		want  Class
	}{{0.8, Dormant}, {0.95, Dormant}, {0.79, Mixed}, {0.5, Mixed}, {0.4999, Active}, {0, Active}, {math.NaN(), Unknown}} {
		if got := c.Class(tc.score); got != tc.want {
			t.Errorf("Class(%g) = %s, want %s", tc.score, got, tc.want)
		}
	}
	if err := (Classifier{Dormant: 0.4, Active: 0.5}).Validate(); err == nil {
		t.Error("τ_active > τ_dormant accepted")
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestRules(t *testing.T) {
	d := &DomainResult{Layers: 1, Heads: 2, HeadRes: []HeadResult{
		{Layer: 0, Head: 0, FirstAttn: 0.9, RowEntropy: 0.1, ColEntropy: 0.95, HeadOutNorm: 0.1},
		{Layer: 0, Head: 1, FirstAttn: 0.1, RowEntropy: 0.9, ColEntropy: 0.5, HeadOutNorm: 1.9},
	}}
	for _, tc := range []struct {
		rule Rule
		want []float64
	}{
		{RuleFirstAttn, []float64{0.9, 0.1}},
		{RuleEntropy, []float64{0.95 * 0.9, 0.5 * 0.1}},
		{RuleOutNorm, []float64{1 - 0.1/1.0, 0}}, // layer mean 1.0; 1 − 1.9 clipped to 0
	} {
		got := Classifier{Rule: tc.rule, Dormant: 0.8, Active: 0.5}.Scores(d)
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("%v: scores %v, want %v", tc.rule, got, tc.want)
				break
			}
		}
		r, err := ParseRule(tc.rule.String())
		if err != nil || r != tc.rule {
			t.Errorf("ParseRule(%q) = %v, %v", tc.rule.String(), r, err)
		}
	}
	if _, err := ParseRule("bogus"); err == nil {
		t.Error("ParseRule(bogus): no error")
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
