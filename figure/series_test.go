package figure

import (
	"math"
	"strings"
	"testing"
)

// TestLinLogScale pins the paper's step axis: linear to 25K, logarithmic
// after, each half of the width (exact at the ends and at 25K; 1e-12 for
// the rounding of the log ratio).
func TestLinLogScale(t *testing.T) {
	var s linLogScale
	for _, c := range []struct{ x, want float64 }{
		{0, 0}, {10000, 0.2}, {25000, 0.5}, {449000, 1},
		{25000 * math.Sqrt(449000.0/25000), 0.75}, // geometric midpoint of the log half
	} {
		if got := s.Normalize(0, 449000, c.x); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Normalize(0, 449000, %g) = %g, want %g", c.x, got, c.want)
		}
	}
	olmo := []float64{0, 500, 10000, 25000, 100000, 449000}
	if !splitAxis(olmo) || splitAxis([]float64{500, 1000, 2000}) || splitAxis([]float64{30000, 449000}) {
		t.Error("splitAxis: want the split axis only for series from below 25K to past 100K")
	}
	var labels []string
	for _, tk := range splitTicks(449000) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0 10K 25K 100K 400K" {
		t.Errorf("tick labels %q, want the paper's 0 10K 25K 100K 400K", got)
	}
}
