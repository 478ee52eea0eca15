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
// loss Options.OnSequence reports. A model.Batcher hands the logits over a
// chunk of positions at a time, so that no [T, vocab] tensor is built.
func Loss(m model.Model, s Sequence, hs *hooks.Set) (float64, error) {
	info := m.Info()
	if err := s.validate(info); err != nil {
		return 0, err
	}
	if bm, ok := m.(model.Batcher); ok {
		var ce lossSum
		err := bm.ForwardBatch([][]int{s.IDs}, []*hooks.Set{hs}, func(_, i0 int, chunk []float32) error {
			return ce.add(chunk, i0, s, info.Vocab)
		})
		if err != nil {
			return 0, fmt.Errorf("metrics: forward pass: %w", err)
		}
		return ce.mean(), nil
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
	var ce lossSum
	if err := ce.add(logits, 0, s, vocab); err != nil {
		return 0, err
	}
	return ce.mean(), nil
}

// lossSum accumulates next-token cross-entropies over chunks of positions.
type lossSum struct {
	sum  float64
	n    int
	next int // the position the next chunk must start at
}

// add folds in the logits of positions i0, i0+1, ... of s (chunk holds whole
// rows of vocab, the chunks in order of positions).
func (c *lossSum) add(chunk []float32, i0 int, s Sequence, vocab int) error {
	T := len(s.IDs)
	rows := len(chunk) / vocab
	if len(chunk) != rows*vocab || i0 != c.next || i0+rows > T {
		return fmt.Errorf("metrics: forward pass returned %d logits for positions from %d, want whole rows of %d from %d within %d positions", len(chunk), i0, vocab, c.next, T)
	}
	c.next += rows
	for r := 0; r < rows; r++ {
		i := i0 + r
		if i+1 >= T || !s.query(i) {
			continue
		}
		row := chunk[r*vocab : (r+1)*vocab]
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
			return errors.New("metrics: logits hold NaN or Inf")
		}
		c.sum += ce
		c.n++
	}
	return nil
}

// mean is the mean cross-entropy, NaN when no position counted.
func (c *lossSum) mean() float64 {
	if c.n == 0 {
		return math.NaN()
	}
	return c.sum / float64(c.n)
}
