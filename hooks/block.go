package hooks

import "sync"

// Block is one head's attention for a block of consecutive queries against
// every key they see: rows Q0..Q0+Rows−1 of the head's hook_attn_scores and
// hook_pattern, each row Keys long (keys 0..Keys−1; keys a query cannot see
// are −∞ in Scores and 0 in Pattern). A model with a blocked attention hands
// these out instead of building the [H, T, T] tensors, so a reducer needs
// memory for its statistics and one block, not T² per head.
type Block struct {
	Layer, Head int
	Q0          int       // position of the block's first query
	Rows, Keys  int       // queries in the block, keys per row
	Scores      []float32 // [Rows][Keys] scaled, soft-capped, masked scores
	Pattern     []float32 // [Rows][Keys] attention probabilities

	// Softmax reports that Pattern is the model's softmax of Scores, row
	// by row, unchanged by any hook before this one: then log Pattern[r][k]
	// = Scores[r][k] − c_r for one c_r per row, and a reducer may take
	// logarithms from the scores.
	Softmax bool
}

// BlockFunc reads (or, by changing Pattern in place, intervenes on) one
// block of attention. A model calls the BlockFuncs of a layer for every head
// and query block after the softmax and before the weighted sum of values;
// it may call them concurrently for different heads, but calls for one head
// come from one goroutine in the order of the queries. Like a Func, a
// BlockFunc must not keep the slices of its Block.
type BlockFunc func(b Block)

// blocks holds the BlockFuncs of a Set, by layer, and the scores a model
// without a blocked attention hooked last, for the fallback in Run.
type blocks struct {
	byLayer map[int][]BlockFunc
	mu      sync.Mutex
	scores  map[int][]float32 // [H, T, T] by layer, between Run at hook_attn_scores and hook_pattern
}

// AddBlocks registers f for the attention blocks of layer l, after those
// added before. Has reports hook_attn_scores and hook_pattern of l as hooked,
// so that a model computing full tensors builds them; such a model's Run at
// hook_pattern then hands f one block per head, all queries at once (the
// scores from the Run at hook_attn_scores before it). A model with a blocked
// attention asks HasBlocks and calls RunBlock per block instead, and builds
// the full tensors only when HasFull asks for them.
func (s *Set) AddBlocks(l int, f BlockFunc) {
	if s.bl == nil {
		s.bl = &blocks{byLayer: map[int][]BlockFunc{}}
	}
	s.bl.byLayer[l] = append(s.bl.byLayer[l], f)
}

// HasBlocks reports whether a BlockFunc is registered for layer l.
func (s *Set) HasBlocks(l int) bool {
	if s == nil || s.bl == nil {
		return false
	}
	_, ok := s.bl.byLayer[l]
	return ok
}

// HasFull reports whether a Func (not a BlockFunc) is registered at p: a
// model with a blocked attention builds the full scores and pattern only
// when one is.
func (s *Set) HasFull(p Point) bool {
	if s == nil || len(s.byPoint) == 0 {
		return false
	}
	_, ok := s.byPoint[p]
	return ok
}

// RunBlock calls the BlockFuncs of layer b.Layer, in order, on b. Only the
// first sees b.Softmax as the model set it: a later one's block may have
// been changed by those before.
func (s *Set) RunBlock(b Block) {
	if s == nil || s.bl == nil {
		return
	}
	for _, f := range s.bl.byLayer[b.Layer] {
		f(b)
		b.Softmax = false
	}
}

// runFullBlocks is Run's fallback for a model that hooks full tensors: it
// keeps a copy of the scores at hook_attn_scores and, at hook_pattern, calls
// the layer's BlockFuncs with one block per head. A tensor that is not
// [H, T, T] is handed out as one block of Head −1 holding its data, for the
// reducers to reject.
func (s *Set) runFullBlocks(p Point, t Tensor) {
	fs := s.bl.byLayer[p.Layer]
	if len(fs) == 0 || (p.Kind != AttnScores && p.Kind != Pattern) {
		return
	}
	if len(t.Shape) != 3 || t.Shape[1] != t.Shape[2] || len(t.Data) != t.Shape[0]*t.Shape[1]*t.Shape[2] {
		if p.Kind == Pattern {
			for _, f := range fs {
				f(Block{Layer: p.Layer, Head: -1, Pattern: t.Data})
			}
		}
		return
	}
	H, T := t.Shape[0], t.Shape[1]
	s.bl.mu.Lock()
	if s.bl.scores == nil {
		s.bl.scores = map[int][]float32{}
	}
	if p.Kind == AttnScores {
		s.bl.scores[p.Layer] = append(s.bl.scores[p.Layer][:0], t.Data...)
		s.bl.mu.Unlock()
		return
	}
	sc := s.bl.scores[p.Layer]
	delete(s.bl.scores, p.Layer)
	s.bl.mu.Unlock()
	if len(sc) != len(t.Data) {
		sc = nil // no scores hooked first: the blocks carry none
	}
	for h := 0; h < H; h++ {
		b := Block{Layer: p.Layer, Head: h, Rows: T, Keys: T, Pattern: t.Data[h*T*T : (h+1)*T*T]}
		if sc != nil {
			b.Scores = sc[h*T*T : (h+1)*T*T]
		}
		for _, f := range fs {
			f(b) // Softmax false: the Funcs at hook_pattern may have changed it
		}
	}
}
