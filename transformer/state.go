package transformer

import (
	"fmt"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/model"
)

// State holds the keys and values of the tokens a Decoder has already seen,
// so that Extend computes only the new positions (a KV cache).
type State struct {
	n      int         // tokens seen
	tokens []int       // [n] the tokens seen (to recompute them, see Extend)
	k, v   [][]float32 // per layer [n, kv_heads, head_dim]: keys after RoPE, values
}

// Len returns the number of tokens seen.
func (s *State) Len() int { return s.n }

// truncate drops the keys and values after the first n floats of each layer
// (those of a failed extension).
func (s *State) truncate(n int) {
	for l := range s.k {
		s.k[l], s.v[l] = s.k[l][:min(n, len(s.k[l]))], s.v[l][:min(n, len(s.v[l]))]
	}
}

// Start returns an empty KV cache as a model.Stream, so that a Decoder is a
// model.Incremental.
func (m *Decoder) Start() model.Stream { return stream{m, m.NewState()} }

// stream is a State bound to its Decoder.
type stream struct {
	m *Decoder
	s *State
}

func (s stream) Extend(tokens []int) ([]float32, error) { return s.m.Extend(s.s, tokens) }

// NewState returns an empty State for Extend.
func (m *Decoder) NewState() *State {
	return &State{k: make([][]float32, len(m.Layers)), v: make([][]float32, len(m.Layers))}
}

// Extend runs tokens at the positions after those s has seen, attending to
// them and to everything before, records their keys and values in s, and
// returns their logits, [len(tokens)][vocab] flattened. Extending an empty
// state by a whole sequence gives Forward's logits; extending it one token at
// a time gives the same logits at a fraction of the cost (greedy generation).
//
// When the extension takes a LongRoPE model (Phi-3) past its
// original_max_position_embeddings, the cached keys were rotated with the
// short factors; like Hugging Face's generation, Extend then drops the cache
// and recomputes every token with the long ones. Extend runs no hooks.
func (m *Decoder) Extend(s *State, tokens []int) ([]float32, error) {
	if s == nil || len(s.k) != len(m.Layers) {
		return nil, fmt.Errorf("extend: state was not made by this model's NewState")
	}
	if m.crossesLong(s.n, len(tokens)) {
		all := append(append([]int(nil), s.tokens...), tokens...)
		fresh := m.NewState()
		out := logitSink{full: true}
		err := m.run([][]int{all}, []*hooks.Set{nil}, fresh, &out)
		logits := out.dst
		if err != nil {
			return nil, err
		}
		fresh.n, fresh.tokens = len(all), all
		*s = *fresh
		return logits[(len(all)-len(tokens))*m.Dims.Vocab:], nil
	}
	out := logitSink{full: true}
	err := m.run([][]int{tokens}, []*hooks.Set{nil}, s, &out)
	logits := out.dst
	if err == nil {
		s.n += len(tokens)
		s.tokens = append(s.tokens, tokens...)
	}
	return logits, err
}
