package metrics

import (
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/kernels"
)

// attnStream reduces one head's attention on one sequence as the model hands
// it out a block of queries at a time (hooks.Block): the scores of
// first_attn, prev_attn, dlogit_first and the entropy rule, and the attention
// mass per key. Its memory is O(T), whatever the block size; the functions in
// attention.go compute the same numbers from a whole [T, T] pattern, and the
// tests hold the two to each other.
type attnStream struct {
	T, w int // sequence length, sliding window (0: none)

	first         float64 // Σ A[i,0] over counted i ≥ 1 that see key 0
	nFirst        int
	prev, row, dl float64   // Σ A[i,i−1], normalised row entropy, dlogit over counted i ≥ 1
	nRows         int       // counted queries i ≥ 1
	scored        int       // of those, rows that came with scores
	mass          []float64 // [T] Σ A[i,k] over counted queries i that see k
	colT          []float64 // [T] Σ A[i,k]·log A[i,k] over the same
	dlogitQ       []float64 // [T] per query dlogit when wanted (Inspect), else nil
	seen          int       // query rows received, counted or not
	bad           error     // first malformed block
}

// reset prepares s for a sequence of T tokens on a layer with window w.
func (s *attnStream) reset(T, w int, perQuery bool) {
	*s = attnStream{T: T, w: w, mass: grow(s.mass, T), colT: grow(s.colT, T), dlogitQ: s.dlogitQ}
	if perQuery {
		s.dlogitQ = grow(s.dlogitQ, T)
		for i := range s.dlogitQ {
			s.dlogitQ[i] = math.NaN()
		}
	} else {
		s.dlogitQ = nil
	}
}

// grow returns buf with n zeroed elements.
func grow(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	buf = buf[:n]
	clear(buf)
	return buf
}

// add folds block b of sequence seq in.
func (s *attnStream) add(b hooks.Block, seq Sequence) {
	T := s.T
	if b.Rows < 0 || b.Q0 < 0 || b.Q0+b.Rows > T || b.Keys < b.Q0+b.Rows || b.Keys > T ||
		len(b.Pattern) != b.Rows*b.Keys || (b.Scores != nil && len(b.Scores) != len(b.Pattern)) {
		if s.bad == nil {
			s.bad = fmt.Errorf("metrics: layer %d head %d: hook_pattern block of %d×%d at query %d (%d values) does not fit a sequence of %d",
				b.Layer, b.Head, b.Rows, b.Keys, b.Q0, len(b.Pattern), T)
		}
		return
	}
	s.seen += b.Rows
	firstEnd := visibleEnd(0, T, s.w)
	for r := 0; r < b.Rows; r++ {
		i := b.Q0 + r
		if !seq.query(i) {
			continue
		}
		a := b.Pattern[r*b.Keys : r*b.Keys+i+1]
		lo := 0
		if s.w > 0 {
			lo = max(0, i-s.w+1)
		}
		var z, t, m float64 // m: Σ of the row's scores, when it has them
		if b.Softmax && b.Scores != nil {
			// log A[i,k] = S[i,k] − c with c from the row's largest weight:
			// one logarithm per row instead of one per key.
			sc := b.Scores[r*b.Keys : r*b.Keys+i+1]
			top := firstMax(a, lo)
			c := float64(sc[top]) - math.Log(float64(a[top]))
			for _, x := range sc[:lo] {
				m += float64(x)
			}
			zr, tr, mr := kernels.AttnRow(s.mass[lo:i+1], s.colT[lo:i+1], a[lo:], sc[lo:], c)
			z, t, m = zr, tr, m+mr
		} else {
			for k := lo; k <= i; k++ {
				x := float64(a[k])
				s.mass[k] += x
				z += x
				if x > 0 {
					xl := x * math.Log(x)
					s.colT[k] += xl
					t += xl
				}
			}
			if b.Scores != nil {
				for _, x := range b.Scores[r*b.Keys : r*b.Keys+i+1] {
					m += float64(x)
				}
			}
		}
		if i == 0 {
			continue
		}
		if i < firstEnd {
			s.first += float64(a[0])
			s.nFirst++
		}
		s.prev += float64(a[i-1])
		s.row += entropyOf(z, t) / math.Log(float64(i+1))
		s.nRows++
		if b.Scores != nil {
			d := float64(b.Scores[r*b.Keys]) - m/float64(i+1)
			s.dl += d
			s.scored++
			if s.dlogitQ != nil {
				s.dlogitQ[i] = d
			}
		}
	}
}

// firstMax returns the first k ≥ lo with the largest a[k] (lo when a[lo:]
// holds only NaNs).
func firstMax(a []float32, lo int) int {
	mx := kernels.Max(a[lo:])
	for k := lo; k < len(a); k++ {
		if a[k] == mx {
			return k
		}
	}
	top := lo // mx is NaN: the first largest of the numbers
	for k := lo + 1; k < len(a); k++ {
		if a[k] > a[top] {
			top = k
		}
	}
	return top
}

// entropyOf is the entropy of weights x_j normalised to sum to 1, from
// z = Σ x_j and t = Σ x_j log x_j: log z − t/z (0 for z ≤ 0).
func entropyOf(z, t float64) float64 {
	if z <= 0 {
		return 0
	}
	return math.Log(z) - t/z
}

// finish checks that every query arrived (or none, on a layer without
// attention) and writes the head's values:
// first_attn (and its query count), prev_attn, dlogit_first, the row and
// column entropies into v, and into s.mass the mean attention per key (NaN
// for a key no counted query sees). cnt[i] is the number of counted queries
// before position i ([T+1]).
func (s *attnStream) finish(l, h int, v *values, cnt []int) (nFirst int, err error) {
	if s.bad != nil {
		return 0, s.bad
	}
	T := s.T
	if s.seen == 0 { // a layer without attention: its values stay unknown
		for k := range s.mass {
			s.mass[k] = math.NaN()
		}
		return 0, nil
	}
	if s.seen != T {
		return 0, fmt.Errorf("metrics: layer %d head %d: hook_pattern blocks covered %d of %d queries", l, h, s.seen, T)
	}
	ratioOrNaN := func(x float64, n int) float64 {
		if n == 0 {
			return math.NaN()
		}
		return x / float64(n)
	}
	v[statFirst] = ratioOrNaN(s.first, s.nFirst)
	if math.IsNaN(v[statFirst]) && s.nFirst > 0 {
		return 0, fmt.Errorf("metrics: layer %d head %d: attention pattern is not a finite number", l, h)
	}
	v[statPrev] = ratioOrNaN(s.prev, s.nRows)
	v[statRow] = ratioOrNaN(s.row, s.nRows)
	if s.scored == s.nRows {
		v[statDLogit] = ratioOrNaN(s.dl, s.nRows)
	}
	// Column entropy over the counted queries i ≥ k of each key k; its sums
	// are those of the attention mass.
	if nq := cnt[T]; nq >= 2 {
		best := 0.0
		for k := 0; k < T; k++ {
			best = math.Max(best, entropyOf(s.mass[k], s.colT[k]))
		}
		v[statCol] = best / math.Log(float64(nq))
	} else {
		v[statCol] = math.NaN()
	}
	for k := 0; k < T; k++ {
		s.mass[k] = ratioOrNaN(s.mass[k], cnt[visibleEnd(k, T, s.w)]-cnt[k])
	}
	return s.nFirst, nil
}

// countQueries returns cnt[i] = the number of counted queries before
// position i, for i in [0, T], in buf's array when it is large enough.
func countQueries(buf []int, s Sequence) []int {
	T := len(s.IDs)
	if cap(buf) < T+1 {
		buf = make([]int, T+1)
	}
	buf = buf[:T+1]
	buf[0] = 0
	for i := 0; i < T; i++ {
		buf[i+1] = buf[i]
		if s.query(i) {
			buf[i+1]++
		}
	}
	return buf
}
