// Package hooks names the activations of a transformer forward pass with
// TransformerLens's hook names and lets callers read (capture) or change
// (intervene on) them while the pass runs.
//
// A model calls Set.Run at each point it reaches; with a nil or empty Set the
// call is a single branch, so an unhooked forward pays nothing. Tensors are
// float32, row-major, with the shapes documented on each Kind.
//
// Every family emits the same points; where its wiring changes what a point
// holds, the Kind says so:
//
//   - GPT-NeoX's parallel residual (x + attn(ln1 x) + mlp(ln2 x)) has no
//     state between the sublayers; hook_resid_mid is defined as x + attn_out,
//     which nothing reads, and the MLP reads hook_resid_pre's stream.
//   - OLMo-2, Gemma 2 and Gemma 3 norm each sublayer's output before the add:
//     hook_attn_out and hook_mlp_out are after that norm, which comes after
//     o_proj, so hook_z → hook_attn_out is not linear there.
//   - Biases (GPT-2, GPT-NeoX, Qwen2) are inside hook_q/k/v and
//     hook_attn_out; a head's value-state norm ‖W_O v‖ includes the value
//     bias (in v) and not the output bias.
//   - hook_attn_scores is after Gemma 2's soft-cap; on sliding-window layers
//     (Mistral, Gemma 2/3, Qwen with use_sliding_window, Phi-3) keys outside
//     the window are −∞ in the scores and exactly 0 in hook_pattern.
package hooks

// Tensor is a view of one activation: Data holds the product of Shape
// elements, row-major, outermost index first. A hook may change Data in place
// (that is an intervention); it must not keep Data after it returns, because
// the model reuses the buffer. Use Clone to keep a copy.
type Tensor struct {
	Shape []int
	Data  []float32
}

// Clone returns a deep copy of t.
func (t Tensor) Clone() Tensor {
	return Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// Func is called with the point reached and its tensor.
type Func func(p Point, t Tensor)

// Set holds the hooks of one forward pass. The zero value and nil are empty sets.
// A Set is not safe for concurrent registration, but Run may be called from the
// forward pass's single goroutine while hooks read or write the tensor.
type Set struct {
	byPoint map[Point][]Func
	bl      *blocks // BlockFuncs by layer (block.go)
}

// Add registers f at p; hooks at one point run in the order they were added.
func (s *Set) Add(p Point, f Func) {
	if s.byPoint == nil {
		s.byPoint = map[Point][]Func{}
	}
	s.byPoint[p] = append(s.byPoint[p], f)
}

// Has reports whether anything is hooked at p. Models use it to skip building
// tensors (such as a full [H, T, T] pattern) that nobody reads.
// A layer with BlockFuncs (AddBlocks) counts as hooked at its
// hook_attn_scores and hook_pattern.
func (s *Set) Has(p Point) bool {
	if s.HasFull(p) {
		return true
	}
	return (p.Kind == AttnScores || p.Kind == Pattern) && s.HasBlocks(p.Layer)
}

// Empty reports whether the set holds no hook.
func (s *Set) Empty() bool { return s == nil || (len(s.byPoint) == 0 && s.bl == nil) }

// Run calls the hooks registered at p, in order, on t. At hook_pattern of a
// layer with BlockFuncs it then calls those with t cut into one block per
// head (see AddBlocks).
func (s *Set) Run(p Point, t Tensor) {
	if s.Empty() {
		return
	}
	for _, f := range s.byPoint[p] {
		f(p, t)
	}
	if s.bl != nil {
		s.runFullBlocks(p, t)
	}
}

// Cache is a Func target that keeps a copy of every tensor it sees, by point.
type Cache map[Point]Tensor

// Capture registers, on s, a hook at each of points that copies the tensor into c.
func (c Cache) Capture(s *Set, points ...Point) {
	for _, p := range points {
		s.Add(p, func(p Point, t Tensor) { c[p] = t.Clone() })
	}
}
