package metrics

import "slices"

// SequenceScores is what one sequence gave, passed to Options.OnSequence:
// enough to choose thresholds per (head, sequence) from the distribution of
// scores over all pairs and to compare zeroing losses with the base loss.
type SequenceScores struct {
	Index   int     // the sequence's position among those folded in, from 0
	InBatch int     // its position among the sequences of its Accumulator.AddBatch call (0 for Add)
	Loss    float64 // base loss: mean next-token cross-entropy over the counted positions, as Loss computes it
	Heads   int     // heads per layer
	// Values[r][i] is head i's (layer-major) score under Rule r on this
	// sequence, NaN where the sequence gives none. The Accumulator reuses
	// these slices for the next sequence.
	Values [][]float64 // [len(Rules())][Layers*Heads]
}

// Score returns head i's (layer-major) score under r on this sequence.
func (s SequenceScores) Score(r Rule, i int) float64 { return s.Values[r][i] }

// fill sets s from the staged per-head values of sequence idx.
func (s *SequenceScores) fill(idx int, loss float64, heads int, st []headStage) {
	s.Index, s.Loss, s.Heads = idx, loss, heads
	if len(s.Values) != int(numRules) {
		s.Values = make([][]float64, numRules)
	}
	for r := range s.Values {
		s.Values[r] = slices.Grow(s.Values[r][:0], len(st))[:len(st)]
		for i := range st {
			s.Values[r][i] = Rule(r).sequenceScore(&st[i].v)
		}
	}
}
