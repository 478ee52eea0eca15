package bbtoy

import (
	"fmt"
	"slices"
)

// Attention kinds.
const (
	Softmax = "softmax" // softmax(q·k/√dh) over the causal keys
	ReLU    = "relu"    // the paper's ReLU(q·k/√dh)/(i+1) for key j ≤ query i (PAPER §4.1)
)

// Config is the shape of a BB transformer (PAPER §1.6). In config.json the
// fields are hidden_size, num_hidden_layers, num_attention_heads,
// intermediate_size, vocab_size, max_position_embeddings, layer_norm_eps,
// attention, no_attn and no_mlp.
type Config struct {
	Vocab     int     // token ids (the task's Vocab)
	D         int     // residual width d_model
	Layers    int     // transformer blocks
	Heads     int     // attention heads per layer; head width is D/Heads
	FF        int     // MLP hidden width (4·D by default)
	MaxPos    int     // learned positions (SeqLen)
	Eps       float64 // LayerNorm epsilon (1e-5)
	Attention string  // Softmax or ReLU
	NoAttn    []bool  // [Layers] layer l has no attention
	NoMLP     []bool  // [Layers] layer l has no MLP
}

// DefaultConfig is a 1-layer, 1-head model of width d for the task.
func DefaultConfig(t *Task, d, layers int) Config {
	return Config{Vocab: t.Vocab(), D: d, Layers: layers, Heads: 1, FF: 4 * d, MaxPos: t.SeqLen(), Eps: 1e-5,
		Attention: Softmax, NoAttn: make([]bool, layers), NoMLP: make([]bool, layers)}
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.D / c.Heads }

// HasAttn reports whether layer l has attention (NoAttn does not remove it).
func (c Config) HasAttn(l int) bool { return l >= len(c.NoAttn) || !c.NoAttn[l] }

// HasMLP reports whether layer l has an MLP (NoMLP does not remove it).
func (c Config) HasMLP(l int) bool { return l >= len(c.NoMLP) || !c.NoMLP[l] }

// Validate reports the first field out of range.
func (c Config) Validate() error {
	switch {
	case c.Vocab < 2:
		return fmt.Errorf("bbtoy: config: vocab_size %d, want ≥ 2", c.Vocab)
	case c.D < 1:
		return fmt.Errorf("bbtoy: config: hidden_size %d, want ≥ 1", c.D)
	case c.Layers < 1:
		return fmt.Errorf("bbtoy: config: num_hidden_layers %d, want ≥ 1", c.Layers)
	case c.Heads < 1 || c.D%c.Heads != 0:
		return fmt.Errorf("bbtoy: config: num_attention_heads %d must be ≥ 1 and divide hidden_size %d", c.Heads, c.D)
	case c.FF < 1:
		return fmt.Errorf("bbtoy: config: intermediate_size %d, want ≥ 1", c.FF)
	case c.MaxPos < 1:
		return fmt.Errorf("bbtoy: config: max_position_embeddings %d, want ≥ 1", c.MaxPos)
	case !(c.Eps > 0):
		return fmt.Errorf("bbtoy: config: layer_norm_eps %g, want > 0", c.Eps)
	case c.Attention != Softmax && c.Attention != ReLU:
		return fmt.Errorf("bbtoy: config: attention %q, want %q or %q", c.Attention, Softmax, ReLU)
	case len(c.NoAttn) != c.Layers:
		return fmt.Errorf("bbtoy: config: no_attn has %d entries, want %d (one per layer)", len(c.NoAttn), c.Layers)
	case len(c.NoMLP) != c.Layers:
		return fmt.Errorf("bbtoy: config: no_mlp has %d entries, want %d (one per layer)", len(c.NoMLP), c.Layers)
	}
	return nil
}

func (c Config) clone() Config {
	c.NoAttn = slices.Clone(c.NoAttn)
	c.NoMLP = slices.Clone(c.NoMLP)
	return c
}
