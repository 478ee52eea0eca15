// Package model defines what every model family in sinkscope (llama, olmo,
// bbtoy) offers to analysis code: its shape and a hooked forward pass.
// Analysis code (package metrics) sees models only through this interface.
package model

import "github.com/sinkscope/sinkscope/hooks"

// Info is the shape of a model, enough to size hook tensors.
type Info struct {
	Arch      string // config.json architectures[0], e.g. "LlamaForCausalLM"
	Layers    int    // number of transformer blocks
	Heads     int    // query heads per layer
	KVHeads   int    // key/value heads per layer (Heads for multi-head attention)
	HeadDim   int    // width of one head
	DModel    int    // residual stream width
	MLPWidth  int    // intermediate width of the MLP (0 if not reported)
	Vocab     int    // logits per position
	MaxSeqLen int    // longest sequence the model was built for (0 if unbounded)
}

// Model is a causal language model with hook points.
type Model interface {
	// Info returns the model's shape.
	Info() Info
	// Forward runs one sequence (position 0 first) through the model, calling
	// the hooks in hs (which may be nil) at every point they name, and returns
	// the logits, [len(tokens)][Vocab] flattened row-major.
	Forward(tokens []int, hs *hooks.Set) ([]float32, error)
	// HeadOutput writes W_O^(h) z into dst (len DModel): what head h of layer l
	// adds to the residual stream for a per-head vector z (len HeadDim), where
	// W_O^(h) is the head's column slice of the output projection.
	HeadOutput(layer, head int, dst, z []float32)
}

// HeadWeighter is a Model that can hand out a head's slice of its output
// projection whole, so that an analysis computing ‖W_O^(h) x‖ for many x
// (through the head's Gram matrix) need not call HeadOutput once per basis
// vector.
type HeadWeighter interface {
	// HeadWeight writes W_O^(h), head h's column slice of layer l's output
	// projection, into dst as [DModel][HeadDim] row-major: dst[r·HeadDim+j]
	// is what HeadOutput writes to dst[r] for the j-th unit vector.
	HeadWeight(layer, head int, dst []float32)
}

// IntoForwarder is a Model that can write the logits of a forward pass into
// a buffer of the caller's, so that a series of passes (an analysis over
// many sequences) does not allocate them anew each time.
type IntoForwarder interface {
	// ForwardInto is Forward with the logits written into dst when its
	// capacity suffices (a new slice otherwise); it returns them.
	ForwardInto(dst []float32, tokens []int, hs *hooks.Set) ([]float32, error)
}

// Batcher is a Model that can run several sequences of one length through
// its matrix products together (M = sequences × positions rows instead of
// positions), and hand out the logits a chunk of positions at a time instead
// of as one [T, Vocab] tensor.
type Batcher interface {
	// ForwardBatch runs seqs (all of one length), sequence b with the hooks
	// hs[b] (hs nil, or an entry nil: none), and calls fn(b, i0, chunk)
	// with the logits of positions i0, i0+1, ... of sequence b,
	// [rows][Vocab] flattened, in order of positions for each sequence.
	// Every hook tensor and logit has the bits of a Forward of that
	// sequence alone. fn must not keep chunk; an error from fn ends the
	// pass and is returned.
	ForwardBatch(seqs [][]int, hs []*hooks.Set, fn func(b, i0 int, chunk []float32) error) error
}

// Windowed is a Model some of whose layers attend through a sliding window:
// a query at position i sees keys i−Window+1..i only, so a query further than
// the window from key 0 cannot see the first token.
type Windowed interface {
	// Window returns layer l's window, 0 for a layer that sees every
	// earlier key.
	Window(layer int) int
}

// LayerWindow returns layer l's sliding window of m (0: none).
func LayerWindow(m Model, layer int) int {
	if w, ok := m.(Windowed); ok {
		return w.Window(layer)
	}
	return 0
}

// Quirk is one way a family departs from a plain pre-norm Llama-style
// decoder, for inspect: Name is what it concerns ("residual", "rotary"),
// Value how this model does it.
type Quirk struct {
	Name, Value string
}

// Describer is a Model that can list its quirks.
type Describer interface {
	Quirks() []Quirk
}

// MatrixCounter is a Model that can count the weight-matrix elements one
// token is multiplied by (every projection and the output head, not the
// embedding lookup): a forward over T tokens costs 2·T·MatrixElements flops
// besides attention.
type MatrixCounter interface {
	MatrixElements() int64
}

// Threaded is a Model whose forward pass runs on a set number of
// goroutines; an analysis runs its own per-head work on as many.
type Threaded interface {
	NumThreads() int // ≥ 1
}

// TokenNamer is a Model that knows its own vocabulary without a tokenizer,
// such as the Bigram-Backcopy toy, whose tokens are the task's characters.
type TokenNamer interface {
	// Token returns how to print token id.
	Token(id int) string
	// BOS returns the token every sequence starts with, if there is one.
	BOS() (id int, ok bool)
}

// Domain is a named set of input sequences that a model brings with it.
// Each calls fn with every sequence in order: its token ids and the query
// positions that count (nil: all). fn must not keep either slice.
type Domain struct {
	Name string // e.g. "trigger"
	Note string // what the domain selects, for reports
	Len  int    // number of sequences
	Each func(fn func(ids []int, queries []bool) error) error
}

// Domainer is a Model with default input domains of its own, used when the
// user gives none: the Bigram-Backcopy toy splits generated sequences into
// trigger and non-trigger queries.
type Domainer interface {
	// Domains returns the default domains with n sequences each, drawn
	// from seed; the same n and seed give the same sequences.
	Domains(n int, seed uint64) []Domain
}

// Stream is the state of incremental decoding: a KV cache.
type Stream interface {
	// Extend runs tokens after those already seen and returns their
	// logits, [len(tokens)][Vocab] flattened row-major.
	Extend(tokens []int) ([]float32, error)
}

// Incremental is a Model that can decode incrementally, each new token
// costing one position rather than a pass over the whole sequence.
type Incremental interface {
	// Start returns an empty decoding state.
	Start() Stream
}
