package metrics

import (
	"cmp"
	"math"
	"slices"
)

// candidates is the number of keys that may be a head's top sink in a
// sequence of T tokens: the first half, k < ⌈T/2⌉. A later key's attention
// mass averages over few queries (AttnMass[T−1] is one query's attention on
// itself), so it would win by chance.
func candidates(T int) int { return (T + 1) / 2 }

// topTwo returns the indices of the two largest non-NaN values among the
// candidate keys of xs (ties go to the smaller index), -1 where there is
// none.
func topTwo(xs []float64) [2]int {
	out := [2]int{-1, -1}
	for k, x := range xs[:candidates(len(xs))] {
		switch {
		case math.IsNaN(x):
		case out[0] < 0 || x > xs[out[0]]:
			out[0], out[1] = k, out[0]
		case out[1] < 0 || x > xs[out[1]]:
			out[1] = k
		}
	}
	return out
}

// TokenCount is how many sequences had token ID at a sink rank.
type TokenCount struct {
	ID, Count int
}

// sinkTokens counts, over sequences, the tokens at the top two sinks of the
// attention mass averaged over every head of the model.
type sinkTokens struct {
	counts [2]map[int]int // [rank] token id → sequences
	mean   []float64      // [T] scratch
}

// add counts the tokens of s at the top two candidate keys of the mean over
// heads of the per-sequence attention mass (mass[i] of head i, NaN values
// left out).
func (st *sinkTokens) add(s Sequence, heads []headStage) {
	T := len(s.IDs)
	st.mean = slices.Grow(st.mean[:0], T)[:T]
	for k := range st.mean {
		var sum float64
		n := 0
		for i := range heads {
			if m := heads[i].mass[k]; !math.IsNaN(m) {
				sum += m
				n++
			}
		}
		st.mean[k] = ratio(sum, n)
	}
	for rank, k := range topTwo(st.mean) {
		if k < 0 {
			continue
		}
		if st.counts[rank] == nil {
			st.counts[rank] = map[int]int{}
		}
		st.counts[rank][s.IDs[k]]++
	}
}

// result returns the counts of each rank, by count descending, then id.
func (st *sinkTokens) result() [2][]TokenCount {
	var out [2][]TokenCount
	for rank, m := range st.counts {
		for id, n := range m {
			out[rank] = append(out[rank], TokenCount{ID: id, Count: n})
		}
		slices.SortFunc(out[rank], func(a, b TokenCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.ID, b.ID))
		})
	}
	return out
}

// SinkRate is Gu et al.'s sink metric: the fraction of heads whose mean
// attention mass on the first token exceeds eps (Gu et al. use eps = 0.3,
// Barbero et al. 0.8).
func (d *DomainResult) SinkRate(eps float64) float64 {
	return d.headFraction(func(r *HeadResult) bool { return r.AttnMassFirst() > eps })
}

// SinkRateTop is SinkRate over every candidate key: the fraction of heads
// whose largest attention mass over the candidate keys exceeds eps.
func (d *DomainResult) SinkRateTop(eps float64) float64 {
	return d.headFraction(func(r *HeadResult) bool {
		k := r.Sinks[0]
		return k >= 0 && r.AttnMass[k] > eps
	})
}

// TopNotFirst is the fraction of heads whose top sink (Sinks[0]) is a
// key other than the first; a head without one does not count as such.
func (d *DomainResult) TopNotFirst() float64 {
	return d.headFraction(func(r *HeadResult) bool { return r.Sinks[0] > 0 })
}

// headFraction is the fraction of heads for which f holds, NaN for none.
func (d *DomainResult) headFraction(f func(*HeadResult) bool) float64 {
	if len(d.HeadRes) == 0 {
		return math.NaN()
	}
	n := 0
	for i := range d.HeadRes {
		if f(&d.HeadRes[i]) {
			n++
		}
	}
	return float64(n) / float64(len(d.HeadRes))
}

// TopSinks returns a head's two sinks from its attention mass per key (one
// sequence's or a domain's): the two candidate keys, in the first half of the
// positions, with the most mass (ties to the smaller key), -1 where there is
// none. HeadResult.Sinks is this over the domain's mean mass.
func TopSinks(mass []float64) [2]int { return topTwo(mass) }
