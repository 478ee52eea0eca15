package metrics

import "math"

// The functions in this file reduce one head's attention pattern or scores,
// a [T(query), T(key)] row-major matrix, for one sequence.

// firstAttn is the mean over counted queries i ≥ 1 of A[i,0], and the number
// of those queries. On a layer with a sliding window w > 0 only the queries
// that can see key 0 (i < w) count: a masked key 0 says nothing about the
// head.
func firstAttn(a []float32, T int, s Sequence, w int) (float64, int) {
	var sum float64
	n := 0
	for i := 1; i < visibleEnd(0, T, w); i++ {
		if s.query(i) {
			sum += float64(a[i*T])
			n++
		}
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return sum / float64(n), n
}

// attnMass writes into mass[k] the mean attention key k receives from the
// counted queries that can see it, Σ_{i≥k} A[i,k] / #{i ≥ k}, and NaN for a
// key that no counted query sees. With every query counted and no window
// this is the reference's attn_mass (query 0 included for key 0); with a
// sliding window w only the queries i < k+w see key k.
func attnMass(mass []float64, a []float32, T int, s Sequence, w int) {
	for k := 0; k < T; k++ {
		var sum float64
		n := 0
		for i := k; i < visibleEnd(k, T, w); i++ {
			if s.query(i) {
				sum += float64(a[i*T+k])
				n++
			}
		}
		if n == 0 {
			mass[k] = math.NaN()
		} else {
			mass[k] = sum / float64(n)
		}
	}
}

// visibleEnd is one past the last query that sees key k under a sliding
// window w (0: none) in a sequence of T.
func visibleEnd(k, T, w int) int {
	if w > 0 {
		return min(T, k+w)
	}
	return T
}

// prevAttn is the mean over counted queries i ≥ 1 of A[i,i−1], the
// attention on the previous token (high for a previous-token head, and for
// the Bigram-Backcopy head at trigger queries).
func prevAttn(a []float32, T int, s Sequence) float64 {
	var sum float64
	n := 0
	for i := 1; i < T; i++ {
		if s.query(i) {
			sum += float64(a[i*T+i-1])
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// dlogitFirst is the mean over counted queries i ≥ 1 of
// S[i,0] − mean_{j≤i} S[i,j], the first key's logit lead over the causal keys.
func dlogitFirst(sc []float32, T int, s Sequence) float64 {
	var sum float64
	n := 0
	for i := 1; i < T; i++ {
		if !s.query(i) {
			continue
		}
		row := sc[i*T : i*T+i+1]
		var m float64
		for _, x := range row {
			m += float64(x)
		}
		m /= float64(i + 1)
		sum += float64(row[0]) - m
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// rowEntropy is the mean over counted queries i ≥ 1 of the entropy of
// A[i, 0..i] divided by log(i+1), its maximum: 0 when every query looks at one
// key, 1 when every query spreads evenly over what it can see.
func rowEntropy(a []float32, T int, s Sequence) float64 {
	var sum float64
	n := 0
	for i := 1; i < T; i++ {
		if !s.query(i) {
			continue
		}
		sum += entropy(a[i*T:i*T+i+1]) / math.Log(float64(i+1))
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// colEntropy is the largest, over keys, of the entropy of the attention a key
// receives from the counted queries (normalised to a distribution over those
// queries), divided by the log of the number of counted queries. A sink column
// (every query puts the same large weight on key 0) scores ≈ 1; a
// previous-token head scores ≈ 0.
func colEntropy(a []float32, T int, s Sequence, col []float32) float64 {
	nq := 0
	for i := 0; i < T; i++ {
		if s.query(i) {
			nq++
		}
	}
	if nq < 2 {
		return math.NaN()
	}
	best := 0.0
	for k := 0; k < T; k++ {
		col = col[:0]
		for i := k; i < T; i++ {
			if s.query(i) {
				col = append(col, a[i*T+k])
			}
		}
		if h := entropy(col); h > best {
			best = h
		}
	}
	return best / math.Log(float64(nq))
}

// entropy is the Shannon entropy (nats) of w normalised to sum to 1; 0 for an
// all-zero w.
func entropy(w []float32) float64 {
	var z float64
	for _, x := range w {
		z += float64(x)
	}
	if z <= 0 {
		return 0
	}
	var h float64
	for _, x := range w {
		if x > 0 {
			p := float64(x) / z
			h -= p * math.Log(p)
		}
	}
	return h
}

// norm is the Euclidean norm of x, accumulated in float64.
func norm(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}
