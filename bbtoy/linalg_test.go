package bbtoy

import (
	"math"
	"testing"
)

// TestExp32 bounds the float32 exponential's relative error against math.Exp
// over the range softmax uses (x ≤ 0 after the max is subtracted) and a bit
// beyond: ≤ 4e-7, i.e. within about 3 float32 ulps.
func TestExp32(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 10; x += 0.001 {
		got := float64(exp32(float32(x)))
		want := math.Exp(float64(float32(x)))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 4e-7 {
		t.Errorf("exp32 relative error up to %.3g, want ≤ 4e-7", worst)
	}
	if exp32(-100) != 0 || exp32(0) != 1 || !math.IsInf(float64(exp32(100)), 1) {
		t.Errorf("exp32(-100), exp32(0), exp32(100) = %v, %v, %v; want 0, 1, +Inf", exp32(-100), exp32(0), exp32(100))
	}
}
