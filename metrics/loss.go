package metrics

import (
	"errors"
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/model"
)

// Loss runs m once on s with the hooks hs (nil: none) and returns the mean
// next-token cross-entropy over the counted positions, the loss an
// Accumulator computes for each pass (NaN when no position counts). With hs
// zeroing heads this is the loss of an ablation, to compare with the base
// loss Options.OnSequence reports.
func Loss(m model.Model, s Sequence, hs *hooks.Set) (float64, error) {
	info := m.Info()
	if err := s.validate(info); err != nil {
		return 0, err
	}
	logits, err := m.Forward(s.IDs, hs)
	if err != nil {
		return 0, fmt.Errorf("metrics: forward pass: %w", err)
	}
	return crossEntropy(logits, s, info.Vocab)
}

// crossEntropy is the mean next-token cross-entropy (nats) over the counted
// positions i < T−1 (position i predicts token i+1); NaN when none counts.
func crossEntropy(logits []float32, s Sequence, vocab int) (float64, error) {
	T := len(s.IDs)
	if len(logits) != T*vocab {
		return 0, fmt.Errorf("metrics: forward pass returned %d logits, want %d×%d", len(logits), T, vocab)
	}
	var sum float64
	n := 0
	for i := 0; i+1 < T; i++ {
		if !s.query(i) {
			continue
		}
		row := logits[i*vocab : (i+1)*vocab]
		mx := math.Inf(-1)
		for _, x := range row {
			mx = math.Max(mx, float64(x))
		}
		var z float64
		for _, x := range row {
			z += math.Exp(float64(x) - mx)
		}
		ce := mx + math.Log(z) - float64(row[s.IDs[i+1]])
		if math.IsNaN(ce) || math.IsInf(ce, 0) {
			return 0, errors.New("metrics: logits hold NaN or Inf")
		}
		sum += ce
		n++
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return sum / float64(n), nil
}
