// Package stats holds the order statistics that gonum's stat package does
// not offer in the form the analysis needs: the median (the mean of the two
// middle values for an even count) and numpy's default linearly
// interpolated quantile. gonum's stat.Quantile offers the empirical
// quantile (stat.Empirical, which is the lower middle value at p = 0.5) and
// stat.LinInterp (Hyndman and Fan's type 4, 2 for the median of 1, 2, 3, 4
// and 2.5 for that of 1 … 5), neither of which is the median or numpy's
// type 7 quantile the paper's plots use. Where gonum fits (means, the
// empirical quantile of a threshold) the analysis calls it directly.
package stats

import (
	"math"
	"slices"
)

// Median returns the median of xs, the mean of the two middle values for an
// even count, NaN for none. xs is left unchanged.
func Median(xs []float64) float64 { return Quantile(xs, 0.5) }

// MedianInPlace is Median that sorts xs in place instead of copying it, for
// callers that reuse a scratch slice.
func MedianInPlace(xs []float64) float64 {
	slices.Sort(xs)
	return sortedQuantile(xs, 0.5)
}

// Quantile returns the q-quantile of xs (0 ≤ q ≤ 1) interpolated linearly
// between order statistics, numpy.quantile's default (Hyndman and Fan's
// type 7); NaN for an empty xs. xs is left unchanged.
func Quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return sortedQuantile(s, q)
}

func sortedQuantile(s []float64, q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}
