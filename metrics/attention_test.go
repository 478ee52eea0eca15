package metrics

import (
	"math"
	"testing"
)

// pattern3 is a hand-made 3-token causal pattern:
//
//	q0: 1   0   0
//	q1: 0.5 0.5 0
//	q2: 0.2 0.3 0.5
var pattern3 = []float32{1, 0, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5}

// TestAttentionReducersByHand checks each reducer on pattern3 against values
// worked out by hand (tolerance 1e-7: float32 inputs like 0.2 carry ~1e-8
// representation error).
func TestAttentionReducersByHand(t *testing.T) {
	all := Sequence{IDs: []int{0, 0, 0}}
	only2 := Sequence{IDs: []int{0, 0, 0}, Queries: []bool{false, false, true}}
	h3 := -(0.2*math.Log(0.2) + 0.3*math.Log(0.3) + 0.5*math.Log(0.5))

	first, n := firstAttn(pattern3, 3, all, 0)
	mass := make([]float64, 3)
	attnMass(mass, pattern3, 3, all, 0)
	mass2 := make([]float64, 3)
	attnMass(mass2, pattern3, 3, only2, 0)
	first2, _ := firstAttn(pattern3, 3, only2, 0)
	// A sliding window of 2: query 2 cannot see key 0 and does not count for it.
	firstW, nW := firstAttn(pattern3, 3, all, 2)
	massW := make([]float64, 3)
	attnMass(massW, pattern3, 3, all, 2)
	// Column 0 over all queries is (1, .5, .2) → normalised (1/1.7, .5/1.7, .2/1.7).
	c0 := -((1/1.7)*math.Log(1/1.7) + (.5/1.7)*math.Log(.5/1.7) + (.2/1.7)*math.Log(.2/1.7)) / math.Log(3)
	// Scores: row 1 = (2, 0), row 2 = (3, 0, 0): dlogit = (2−1 + 3−1)/2 = 1.5.
	scores := []float32{0, float32(math.Inf(-1)), float32(math.Inf(-1)), 2, 0, float32(math.Inf(-1)), 3, 0, 0}

	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"first_attn", first, (0.5 + 0.2) / 2},
		{"first_attn n", float64(n), 2},
		{"attn_mass[0]", mass[0], (1 + 0.5 + 0.2) / 3},
		{"attn_mass[1]", mass[1], (0.5 + 0.3) / 2},
		{"attn_mass[2]", mass[2], 0.5},
		{"masked first_attn", first2, 0.2},
		{"window first_attn", firstW, 0.5},
		{"window first_attn n", float64(nW), 1},
		{"window attn_mass[0]", massW[0], (1 + 0.5) / 2},
		{"window attn_mass[1]", massW[1], (0.5 + 0.3) / 2},
		{"masked attn_mass[1]", mass2[1], 0.3},
		{"row entropy", rowEntropy(pattern3, 3, all), (1 + h3/math.Log(3)) / 2},
		{"column entropy", colEntropy(pattern3, 3, all, nil), c0},
		{"dlogit", dlogitFirst(scores, 3, all), 1.5},
	} {
		if math.Abs(c.got-c.want) > 1e-7 {
			t.Errorf("%s = %.9g, want %.9g", c.name, c.got, c.want)
		}
	}
}

// TestSinkPatternEntropy: a perfect sink (every query on key 0) has row entropy
// 0 and column entropy 1, so the entropy rule scores it 1.
func TestSinkPatternEntropy(t *testing.T) {
	const T = 6
	a := make([]float32, T*T)
	for i := 0; i < T; i++ {
		a[i*T] = 1
	}
	s := Sequence{IDs: make([]int, T)}
	if r, c := rowEntropy(a, T, s), colEntropy(a, T, s, nil); r != 0 || math.Abs(c-1) > 1e-12 {
		t.Errorf("sink: row entropy %g, column entropy %g, want 0 and 1", r, c)
	}
	// A previous-token head: row entropy 0, and no column gets more than 2 queries.
	p := make([]float32, T*T)
	p[0] = 1
	for i := 1; i < T; i++ {
		p[i*T+i-1] = 1
	}
	if c := colEntropy(p, T, s, nil); c > math.Log(2)/math.Log(T)+1e-12 {
		t.Errorf("previous-token head: column entropy %g, want ≤ log 2 / log %d", c, T)
	}
}

func TestWelford(t *testing.T) {
	var w Welford
	if !math.IsNaN(w.Mean()) || !math.IsNaN(w.Std()) {
		t.Error("empty Welford: want NaN mean and std")
	}
	w.Add(1)
	if w.Std() != 0 {
		t.Errorf("one value: std %g, want 0", w.Std())
	}
	for _, x := range []float64{2, 3, 4} {
		w.Add(x)
	}
	// mean 2.5, sample variance (2.25+0.25+0.25+2.25)/3 = 5/3.
	if w.N() != 4 || w.Mean() != 2.5 || math.Abs(w.Std()-math.Sqrt(5.0/3)) > 1e-15 {
		t.Errorf("Welford(1..4): n %d mean %g std %g, want 4, 2.5, %g", w.N(), w.Mean(), w.Std(), math.Sqrt(5.0/3))
	}
}

func TestMassive(t *testing.T) {
	x := make([]float32, 2001)
	for i := range x {
		x[i] = 0.05
	}
	x[7] = -150 // > 100 and > 1000 × 0.05
	x[9] = 40   // > 1000 × median but not > 100
	mx, c, _ := massive(x, nil)
	if mx != 150 || c != 1 {
		t.Errorf("massive: max %g count %d, want 150 and 1", mx, c)
	}
	x[7] = 49.9 // now below 1000 × the median
	for i := 0; i < 1001; i++ {
		x[i] = 0.2
	}
	x[1500] = 150 // 150 < 1000 × 0.2
	if _, c, _ := massive(x, nil); c != 0 {
		t.Errorf("massive: %d coordinates, want 0 (150 is < 1000 × median 0.2)", c)
	}
}
