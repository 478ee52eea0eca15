package metrics

import (
	"math"

	"github.com/sinkscope/sinkscope/internal/stats"
)

// Massive activations (Sun et al. 2024): a coordinate x_j of one token's
// residual state is massive when |x_j| exceeds both MassiveAbs and
// MassiveRatio times the median |x| of that state.
const (
	MassiveAbs   = 100
	MassiveRatio = 1000
)

// massive returns the largest |x_j| of one token's state x and how many of its
// coordinates are massive. scratch is reused for the magnitudes.
func massive(x []float32, scratch []float64) (maxAbs float64, count int, _ []float64) {
	scratch = scratch[:0]
	for _, v := range x {
		a := math.Abs(float64(v))
		scratch = append(scratch, a)
		if a > maxAbs {
			maxAbs = a
		}
	}
	if maxAbs <= MassiveAbs {
		return maxAbs, 0, scratch
	}
	med := stats.Median(scratch)
	for _, a := range scratch {
		if a > MassiveAbs && a > MassiveRatio*med {
			count++
		}
	}
	return maxAbs, count, scratch
}

// finite reports whether every element of x is a finite number.
func finite(x []float32) bool {
	for _, v := range x {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}
