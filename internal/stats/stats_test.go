package stats

import (
	"math"
	"testing"
)

func TestQuantile(t *testing.T) {
	cases := []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{3, 1, 4, 2}, 0.5, 2.5}, // even count: mean of the middle two
		{[]float64{5, 1, 4, 2, 3}, 0.5, 3},
		{[]float64{7}, 0.5, 7},
		{[]float64{1, 2, 3, 4}, 0.1, 1.3}, // numpy.quantile([1,2,3,4], 0.1)
		{[]float64{1, 2, 3, 4}, 0.9, 3.7},
		{[]float64{1, 2, 3, 4}, 1, 4},
		{[]float64{1, 2, 3, 4}, 0, 1},
	}
	for _, c := range cases {
		if got := Quantile(c.xs, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v, %g) = %g, want %g", c.xs, c.q, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
	xs := []float64{3, 1, 2}
	if Median(xs); xs[0] != 3 {
		t.Error("Median changed its input")
	}
	if got := MedianInPlace([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("MedianInPlace = %g, want 2.5", got)
	}
}
