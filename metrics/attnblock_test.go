package metrics

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
)

// TestStreamMatchesFullPattern: the statistics an attnStream accumulates from
// blocks of queries (of uneven sizes, as a model with a blocked attention
// hands them out) equal those the whole-pattern functions compute from the
// [T, T] scores and pattern, to 1e-6, with and without a sliding window and a
// query mask, and with the logarithms of the weights taken from the scores
// (Block.Softmax) or from the weights. Both sum the same float32 values in
// float64; the stream's entropies use log z − Σ x log x / z instead of
// −Σ p log p, which differ by rounding (≈1e-15), and log A from the scores
// differs from log of the float32 A by its rounding (≈6e-8), so 1e-6 leaves a
// wide margin and still catches a key or a query counted wrongly.
func TestStreamMatchesFullPattern(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name    string
		T, w    int
		masked  bool
		softmax bool
	}{
		{"short", 5, 0, false, false},
		{"blocks", 150, 0, false, false},
		{"blocks softmax", 150, 0, false, true},
		{"mask", 131, 0, true, false},
		{"mask softmax", 131, 0, true, true},
		{"window", 140, 33, false, false},
		{"window softmax", 140, 33, false, true},
		{"window and mask", 97, 10, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			T := tc.T
			sc, pat := randomAttention(rng, T, tc.w)
			s := Sequence{IDs: make([]int, T)}
			if tc.masked {
				s.Queries = make([]bool, T)
				for i := range s.Queries {
					s.Queries[i] = rng.IntN(3) > 0
				}
			}
			var st attnStream
			st.reset(T, tc.w, true)
			for i0 := 0; i0 < T; {
				n := min(T-i0, 1+rng.IntN(40))
				nk := i0 + n + rng.IntN(2)*(T-i0-n) // rows see keys up to their block's end, or all T
				b := hooks.Block{Layer: 0, Head: 0, Q0: i0, Rows: n, Keys: nk,
					Scores: make([]float32, n*nk), Pattern: make([]float32, n*nk), Softmax: tc.softmax}
				for r := 0; r < n; r++ {
					copy(b.Scores[r*nk:(r+1)*nk], sc[(i0+r)*T:(i0+r)*T+nk])
					copy(b.Pattern[r*nk:(r+1)*nk], pat[(i0+r)*T:(i0+r)*T+nk])
				}
				st.add(b, s)
				i0 += n
			}
			var v values
			nFirst, err := st.finish(0, 0, &v, countQueries(nil, s))
			if err != nil {
				t.Fatal(err)
			}
			first, wantN := firstAttn(pat, T, s, tc.w)
			mass := make([]float64, T)
			attnMass(mass, pat, T, s, tc.w)
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"first_attn", v[statFirst], first},
				{"prev_attn", v[statPrev], prevAttn(pat, T, s)},
				{"row entropy", v[statRow], rowEntropy(pat, T, s)},
				{"column entropy", v[statCol], colEntropy(pat, T, s, nil)},
				{"dlogit_first", v[statDLogit], dlogitFirst(sc, T, s)},
			} {
				if !nearNaN(c.got, c.want, 1e-6) {
					t.Errorf("%s: streamed %v, from the full pattern %v", c.name, c.got, c.want)
				}
			}
			if nFirst != wantN {
				t.Errorf("first_attn counts %d queries, want %d", nFirst, wantN)
			}
			for k := range mass {
				if !nearNaN(st.mass[k], mass[k], 1e-6) {
					t.Errorf("attn_mass[%d]: streamed %v, from the full pattern %v", k, st.mass[k], mass[k])
				}
			}
		})
	}
}

// nearNaN reports whether a and b agree to tol, or are both NaN.
func nearNaN(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

// randomAttention returns causal (and windowed) [T, T] scores, −∞ where
// masked, with a sink on key 0, and their softmax.
func randomAttention(rng *rand.Rand, T, w int) (sc, pat []float32) {
	sc, pat = make([]float32, T*T), make([]float32, T*T)
	for i := 0; i < T; i++ {
		row := sc[i*T : (i+1)*T]
		mx := math.Inf(-1)
		for j := range row {
			if j > i || (w > 0 && j <= i-w) {
				row[j] = float32(math.Inf(-1))
				continue
			}
			row[j] = float32(2 * rng.NormFloat64())
			if j == 0 {
				row[j] += 4
			}
			mx = math.Max(mx, float64(row[j]))
		}
		var z float64
		for j, x := range row {
			e := math.Exp(float64(x) - mx)
			pat[i*T+j] = float32(e)
			z += e
		}
		for j := range row {
			pat[i*T+j] = float32(float64(pat[i*T+j]) / z)
		}
	}
	return sc, pat
}

// TestStreamRejectsBadBlocks: blocks that do not fit the sequence, and a
// sequence whose queries did not all arrive, are errors naming hook_pattern.
func TestStreamRejectsBadBlocks(t *testing.T) {
	s := Sequence{IDs: make([]int, 8)}
	for _, tc := range []struct {
		name string
		b    []hooks.Block
	}{
		{"past the end", []hooks.Block{{Q0: 6, Rows: 4, Keys: 8, Pattern: make([]float32, 32)}}},
		{"too few keys", []hooks.Block{{Q0: 0, Rows: 8, Keys: 4, Pattern: make([]float32, 32)}}},
		{"short data", []hooks.Block{{Q0: 0, Rows: 8, Keys: 8, Pattern: make([]float32, 63)}}},
		{"missing queries", []hooks.Block{{Q0: 0, Rows: 4, Keys: 4, Pattern: make([]float32, 16)}}},
	} {
		var st attnStream
		st.reset(8, 0, false)
		for _, b := range tc.b {
			st.add(b, s)
		}
		var v values
		if _, err := st.finish(0, 0, &v, countQueries(nil, s)); err == nil || !strings.Contains(err.Error(), "hook_pattern") {
			t.Errorf("%s: error %v, want one naming hook_pattern", tc.name, err)
		}
	}
}

// BenchmarkAttnStream measures the streamed reduction of one head's
// attention at T = 4,096 in blocks of 64 queries (as the blocked attention
// hands them out, with their scores), per query-key pair.
func BenchmarkAttnStream(b *testing.B) {
	const T, rows = 4096, 64
	sc, pat := randomAttention(rand.New(rand.NewPCG(1, 2)), T, 0)
	s := Sequence{IDs: make([]int, T)}
	blocks := make([]hooks.Block, 0, T/rows)
	for i0 := 0; i0 < T; i0 += rows {
		nk := i0 + rows
		bl := hooks.Block{Q0: i0, Rows: rows, Keys: nk, Scores: make([]float32, rows*nk), Pattern: make([]float32, rows*nk), Softmax: true}
		for r := 0; r < rows; r++ {
			copy(bl.Scores[r*nk:(r+1)*nk], sc[(i0+r)*T:])
			copy(bl.Pattern[r*nk:(r+1)*nk], pat[(i0+r)*T:])
		}
		blocks = append(blocks, bl)
	}
	var st attnStream
	for b.Loop() {
		st.reset(T, 0, false)
		for _, bl := range blocks {
			st.add(bl, s)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(T*(T+1)/2), "ns/pair")
}
