package metrics

import "math"

// Welford keeps the running mean and variance of a stream of numbers
// (Welford's online algorithm), in constant memory.
type Welford struct {
	n    int
	mean float64
	m2   float64
}

// Add folds x into the running statistics.
func (w *Welford) Add(x float64) {
	w.n++
	d := x - w.mean
	w.mean += d / float64(w.n)
	w.m2 += d * (x - w.mean)
}

// N is the number of values added.
func (w *Welford) N() int { return w.n }

// Mean is the mean of the values added, NaN when there are none.
func (w *Welford) Mean() float64 {
	if w.n == 0 {
		return math.NaN()
	}
	return w.mean
}

// Std is the sample standard deviation (n−1 in the denominator); 0 for a
// single value and NaN for none.
func (w *Welford) Std() float64 {
	switch w.n {
	case 0:
		return math.NaN()
	case 1:
		return 0
	}
	return math.Sqrt(w.m2 / float64(w.n-1))
}
