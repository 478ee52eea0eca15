package metrics

import (
	"fmt"
	"math"
	"sync"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/model"
)

// Options configures an Accumulator.
type Options struct {
	// Ablate lists the heads whose ablation cost (Δloss) to measure; each
	// costs one extra forward pass per sequence.
	Ablate []Head
	// Progress, when not nil, is called after every forward pass.
	Progress func()
	// OnSequence, when not nil, is called once for every sequence folded
	// in, in order, with that sequence's base loss and per-head scores. It
	// must not keep the slices of its argument: they are reused.
	OnSequence func(SequenceScores)
}

// Accumulator reduces the forward passes of one domain's sequences to
// per-head, per-KV-head and per-layer statistics. Its memory is set by the
// model's shape and the longest sequence seen, not by the number of
// sequences: each pass is reduced to a few numbers per head while it runs and
// folded into running sums once it has succeeded.
type Accumulator struct {
	m    model.Model
	info model.Info
	opts Options

	nSeqs   int // sequences folded in
	skipped int // sequences with no counted query i ≥ 1
	loss    Welford

	heads   []headAcc  // [Layers*Heads]
	kv      []kvAcc    // [Layers*KVHeads]
	layers  []layerAcc // [Layers]
	dloss   []Welford  // [len(opts.Ablate)]
	sinkTok sinkTokens

	st     stage // the current pass
	errMu  sync.Mutex
	err    error     // first problem a hook met during the current pass
	gram   *gram     // ‖W_O^(h) x‖ through per-head Gram matrices
	logits []float32 // [T, vocab] reused by models that write logits in place

	cur   Sequence       // the sequence being added, read by the hooks
	hooks *hooks.Set     // the analysis hooks, built on first use
	zero  []hooks.Set    // [len(opts.Ablate)] one head zeroed each
	dl    []float64      // [len(opts.Ablate)] Δloss of the current sequence
	seq   SequenceScores // passed to opts.OnSequence, reused
}

// headAcc holds one head's running statistics over sequences.
type headAcc struct {
	v            [numStats]Welford // per-sequence values, by stat
	firstQueries int               // queries that counted toward first_attn, over all sequences
	mass         []float64         // [longest T] Σ over sequences of attn_mass[k]
	massN        []int             // [longest T] sequences contributing to mass[k]
}

// kvAcc holds one KV head's raw value norms summed over sequences.
type kvAcc struct {
	first, rest float64
	n           int
}

// layerAcc holds one layer's residual statistics summed over sequences.
type layerAcc struct {
	first, rest, ratio float64
	n                  int
	massive, massive0  int     // massive coordinates, all positions / position 0
	maxAbs             float64 // largest |x| seen
}

// stage is what one forward pass contributes, kept until the pass succeeds.
type stage struct {
	T      int
	heads  []headStage  // [Layers*Heads]
	kv     []kvAcc      // [Layers*KVHeads], n = 1 when seen
	layers []layerStage // [Layers]
	norms  []float64    // [T] scratch
	cnt    []int        // [T+1] counted queries before each position
	abs    []float64    // [DModel] scratch
}

// headStage is one head's values on the current sequence.
type headStage struct {
	v      values     // NaN until a hook provides the value
	nFirst int        // queries first_attn counts (fewer on a sliding-window layer)
	mass   []float64  // [T] attn_mass, NaN for a key no counted query sees (attn.mass once finished)
	attn   attnStream // the head's attention blocks, reduced as they come
}

type layerStage struct {
	first, rest, ratio float64
	massive, massive0  int
	maxAbs             float64
	seen               bool
}

// NewAccumulator returns an empty accumulator for model m.
func NewAccumulator(m model.Model, opts Options) (*Accumulator, error) {
	info := m.Info()
	if info.Layers <= 0 || info.Heads <= 0 || info.KVHeads <= 0 || info.Heads%info.KVHeads != 0 || info.HeadDim <= 0 || info.DModel <= 0 {
		return nil, fmt.Errorf("metrics: model %s: unusable shape %+v", info.Arch, info)
	}
	for _, h := range opts.Ablate {
		if err := h.check(info); err != nil {
			return nil, err
		}
	}
	a := &Accumulator{
		m:      m,
		info:   info,
		opts:   opts,
		heads:  make([]headAcc, info.Layers*info.Heads),
		kv:     make([]kvAcc, info.Layers*info.KVHeads),
		layers: make([]layerAcc, info.Layers),
		dloss:  make([]Welford, len(opts.Ablate)),
		gram:   newGram(m),
		zero:   make([]hooks.Set, len(opts.Ablate)),
	}
	for j, h := range opts.Ablate {
		a.zero[j].Add(hooks.ZeroHead(h.Layer, h.Head))
	}
	return a, nil
}

// Add runs the model on s (plus one pass per ablated head) and folds the
// results in. A sequence whose query mask selects no query i ≥ 1 is counted
// as skipped. On error nothing of s is kept.
func (a *Accumulator) Add(s Sequence) error {
	if err := s.validate(a.info); err != nil {
		return err
	}
	if s.nFirstQueries() == 0 {
		a.skipped++
		return nil
	}
	a.reset(len(s.IDs))
	a.err = nil
	a.cur = s
	defer func() { a.cur = Sequence{} }()
	if a.hooks == nil {
		a.hooks = a.newHooks()
	}
	logits, err := a.forward(s.IDs, a.hooks)
	a.progress()
	if err != nil {
		return fmt.Errorf("metrics: forward pass: %w", err)
	}
	if a.err != nil {
		return a.err
	}
	if err := a.finishAttention(s); err != nil {
		return err
	}
	base, err := crossEntropy(logits, s, a.info.Vocab)
	if err != nil {
		return err
	}
	dl := a.dl[:0]
	for j, h := range a.opts.Ablate {
		lg, err := a.forward(s.IDs, &a.zero[j])
		a.progress()
		if err != nil {
			return fmt.Errorf("metrics: forward pass with head %v zeroed: %w", h, err)
		}
		l, err := crossEntropy(lg, s, a.info.Vocab)
		if err != nil {
			return err
		}
		dl = append(dl, l-base)
	}
	a.dl = dl
	for l := 0; l < a.info.Layers; l++ {
		deriveLayer(a.st.heads[l*a.info.Heads : (l+1)*a.info.Heads])
	}
	a.commit(s, base, dl)
	if a.opts.OnSequence != nil {
		a.seq.fill(a.nSeqs-1, base, a.info.Heads, a.st.heads)
		a.opts.OnSequence(a.seq)
	}
	return nil
}

// newHooks builds the hooks of an analysis pass once; they read the
// sequence being added from a.cur.
func (a *Accumulator) newHooks() *hooks.Set {
	hs := new(hooks.Set)
	for l := 0; l < a.info.Layers; l++ {
		hs.AddBlocks(l, func(b hooks.Block) { a.onBlock(b, a.cur) })
		hs.Add(hooks.At(l, hooks.AttnV), func(p hooks.Point, t hooks.Tensor) { a.onV(p.Layer, t) })
		hs.Add(hooks.At(l, hooks.Z), func(p hooks.Point, t hooks.Tensor) { a.onZ(p.Layer, t, a.cur) })
		hs.Add(hooks.At(l, hooks.ResidPost), func(p hooks.Point, t hooks.Tensor) { a.onResid(p.Layer, t) })
	}
	return hs
}

// forward runs the model, into the accumulator's logits buffer when the
// model can write there; the logits are read before the next pass.
func (a *Accumulator) forward(ids []int, hs *hooks.Set) ([]float32, error) {
	if m, ok := a.m.(model.IntoForwarder); ok {
		lg, err := m.ForwardInto(a.logits, ids, hs)
		if err == nil {
			a.logits = lg
		}
		return lg, err
	}
	return a.m.Forward(ids, hs)
}

func (a *Accumulator) progress() {
	if a.opts.Progress != nil {
		a.opts.Progress()
	}
}

// fail records the first problem met inside a hook (block hooks may run
// concurrently).
func (a *Accumulator) fail(err error) {
	a.errMu.Lock()
	if a.err == nil {
		a.err = err
	}
	a.errMu.Unlock()
}

// reset sizes the stage for a pass over T tokens and clears it.
func (a *Accumulator) reset(T int) {
	st := &a.st
	st.T = T
	if len(st.heads) != len(a.heads) {
		st.heads = make([]headStage, len(a.heads))
		st.kv = make([]kvAcc, len(a.kv))
		st.layers = make([]layerStage, len(a.layers))
	}
	for i := range st.heads {
		hs := &st.heads[i]
		hs.v, hs.nFirst = unknownValues(), 0
		hs.attn.reset(T, model.LayerWindow(a.m, i/a.info.Heads), false)
		hs.mass = hs.attn.mass
	}
	clear(st.kv)
	clear(st.layers)
	if cap(st.norms) < T {
		st.norms = make([]float64, T)
	}
}

// checkShape reports whether t has the wanted shape, recording an error if not.
func (a *Accumulator) checkShape(p hooks.Point, t hooks.Tensor, want ...int) bool {
	ok := len(t.Shape) == len(want)
	n := 1
	for i := 0; ok && i < len(want); i++ {
		ok = t.Shape[i] == want[i]
		n *= want[i]
	}
	if !ok || len(t.Data) != n {
		a.fail(fmt.Errorf("metrics: hook %v: tensor of shape %v (%d values), want %v", p, t.Shape, len(t.Data), want))
		return false
	}
	return true
}

// commit folds the staged pass over s into the running sums.
func (a *Accumulator) commit(s Sequence, loss float64, dloss []float64) {
	a.nSeqs++
	if !math.IsNaN(loss) {
		a.loss.Add(loss)
	}
	for j, d := range dloss {
		if !math.IsNaN(d) {
			a.dloss[j].Add(d)
		}
	}
	for i := range a.heads {
		acc, st := &a.heads[i], &a.st.heads[i]
		for k, x := range st.v {
			if !math.IsNaN(x) {
				acc.v[k].Add(x)
			}
		}
		if !math.IsNaN(st.v[statFirst]) {
			acc.firstQueries += st.nFirst
		}
		if len(acc.mass) < len(st.mass) {
			acc.mass = append(acc.mass, make([]float64, len(st.mass)-len(acc.mass))...)
			acc.massN = append(acc.massN, make([]int, len(st.mass)-len(acc.massN))...)
		}
		for k, m := range st.mass {
			if !math.IsNaN(m) {
				acc.mass[k] += m
				acc.massN[k]++
			}
		}
	}
	a.sinkTok.add(s, a.st.heads)
	for i, st := range a.st.kv {
		if st.n > 0 {
			a.kv[i].first += st.first
			a.kv[i].rest += st.rest
			a.kv[i].n++
		}
	}
	for i, st := range a.st.layers {
		if !st.seen {
			continue
		}
		acc := &a.layers[i]
		acc.first += st.first
		acc.rest += st.rest
		acc.ratio += st.ratio
		acc.n++
		acc.massive += st.massive
		acc.massive0 += st.massive0
		acc.maxAbs = math.Max(acc.maxAbs, st.maxAbs)
	}
}
