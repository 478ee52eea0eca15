package metrics

import (
	"fmt"

	"github.com/sinkscope/sinkscope/model"
)

// Sequence is one input to a forward pass.
type Sequence struct {
	IDs []int // [T] token ids, position 0 first

	// Queries selects the query positions that count ([T]); nil counts them
	// all. The Bigram-Backcopy domains "trigger" and "non-trigger" use it to
	// group queries by the type of their input token. It restricts every
	// per-query average (first_attn, prev_attn, dlogit, attn_mass, entropy,
	// z and head output norms, loss); key properties (value norms, residual
	// norms) use every position.
	Queries []bool
}

// query reports whether query position i counts.
func (s Sequence) query(i int) bool { return s.Queries == nil || s.Queries[i] }

// nFirstQueries is the number of counted queries i ≥ 1 (query 0 can only see
// key 0 and is left out of first_attn).
func (s Sequence) nFirstQueries() int {
	n := 0
	for i := 1; i < len(s.IDs); i++ {
		if s.query(i) {
			n++
		}
	}
	return n
}

// validate checks s against the model's shape.
func (s Sequence) validate(info model.Info) error {
	T := len(s.IDs)
	if T < 2 {
		return fmt.Errorf("metrics: sequence of %d tokens: need at least 2 (query 0 only sees itself)", T)
	}
	if info.MaxSeqLen > 0 && T > info.MaxSeqLen {
		return fmt.Errorf("metrics: sequence of %d tokens exceeds the model's context of %d", T, info.MaxSeqLen)
	}
	if s.Queries != nil && len(s.Queries) != T {
		return fmt.Errorf("metrics: query mask has %d entries for %d tokens", len(s.Queries), T)
	}
	for i, id := range s.IDs {
		if id < 0 || id >= info.Vocab {
			return fmt.Errorf("metrics: token %d at position %d outside the vocabulary [0, %d)", id, i, info.Vocab)
		}
	}
	return nil
}
