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

	stages  []*stage // one per sequence of the current batch, each with its hooks
	errMu   sync.Mutex
	err     error     // first problem a hook met during the current pass
	gram    *gram     // ‖W_O^(h) x‖ through per-head Gram matrices
	threads int       // goroutines for per-head work (model.Threaded, else 1)
	logits  []float32 // [T, vocab] reused by models that write logits in place

	zero []hooks.Set    // [len(opts.Ablate)] one head zeroed each
	seq  SequenceScores // passed to opts.OnSequence, reused
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

// stage is what one sequence's forward pass contributes, kept until the
// pass succeeds.
type stage struct {
	seq    Sequence   // the sequence, read by the hooks
	hooks  *hooks.Set // the analysis hooks of this batch slot
	loss   lossSum    // base loss
	abl    []lossSum  // [len(opts.Ablate)] loss with each ablation
	dl     []float64  // [len(opts.Ablate)] Δloss
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
	a.threads = 1
	if t, ok := m.(model.Threaded); ok {
		a.threads = max(1, t.NumThreads())
	}
	return a, nil
}

// SetOnSequence replaces Options.OnSequence for the sequences added from now
// on.
func (a *Accumulator) SetOnSequence(f func(SequenceScores)) { a.opts.OnSequence = f }

// Add runs the model on s (plus one pass per ablated head) and folds the
// results in. A sequence whose query mask selects no query i ≥ 1 is counted
// as skipped. On error nothing of s is kept.
func (a *Accumulator) Add(s Sequence) error { return a.AddBatch([]Sequence{s}) }

// AddBatch is Add for several sequences, folded in in order. Sequences of
// one length go through a model.Batcher's forward pass together (so its
// matrix products see all their positions at once), with results identical
// to adding them one at a time. On error nothing of the batch is kept.
func (a *Accumulator) AddBatch(seqs []Sequence) error {
	var run []Sequence
	var at []int // position in seqs of each of run
	for i, s := range seqs {
		if err := s.validate(a.info); err != nil {
			return err
		}
		if s.nFirstQueries() > 0 {
			run = append(run, s)
			at = append(at, i)
		}
	}
	skipped := len(seqs) - len(run)
	if len(run) == 0 {
		a.skipped += skipped
		return nil
	}
	bm, batched := a.m.(model.Batcher)
	if !batched || len(run) > 1 && !sameLength(run) {
		if len(run) > 1 {
			// One at a time.
			for i, s := range seqs {
				if err := a.addOne(s, i); err != nil {
					return err
				}
			}
			return nil
		}
	}
	for len(a.stages) < len(run) {
		st := &stage{}
		st.hooks = a.newHooks(st)
		a.stages = append(a.stages, st)
	}
	stages := a.stages[:len(run)]
	for b, s := range run {
		stages[b].reset(a, s)
	}
	defer func() {
		for _, st := range stages {
			st.seq = Sequence{}
		}
	}()
	a.err = nil
	if err := a.pass(bm, stages, nil, -1); err != nil {
		return err
	}
	if a.err != nil {
		return a.err
	}
	for _, st := range stages {
		if err := a.finishAttention(st); err != nil {
			return err
		}
	}
	for j, h := range a.opts.Ablate {
		if err := a.pass(bm, stages, &a.zero[j], j); err != nil {
			return fmt.Errorf("metrics: forward pass with head %v zeroed: %w", h, err)
		}
	}
	for _, st := range stages {
		base := st.loss.mean()
		st.dl = st.dl[:0]
		for j := range a.opts.Ablate {
			st.dl = append(st.dl, st.abl[j].mean()-base)
		}
		for l := 0; l < a.info.Layers; l++ {
			deriveLayer(st.heads[l*a.info.Heads : (l+1)*a.info.Heads])
		}
	}
	a.skipped += skipped
	for b, st := range stages {
		base := st.loss.mean()
		a.commit(st, base, st.dl)
		if a.opts.OnSequence != nil {
			a.seq.fill(a.nSeqs-1, base, a.info.Heads, st.heads)
			a.seq.InBatch = at[b]
			a.opts.OnSequence(a.seq)
		}
	}
	return nil
}

// addOne adds s alone, reporting it to OnSequence as the sequence at
// position i of its batch.
func (a *Accumulator) addOne(s Sequence, i int) error {
	if a.opts.OnSequence == nil || i == 0 {
		return a.AddBatch([]Sequence{s})
	}
	on := a.opts.OnSequence
	defer func() { a.opts.OnSequence = on }()
	a.opts.OnSequence = func(sc SequenceScores) {
		sc.InBatch = i
		on(sc)
	}
	return a.AddBatch([]Sequence{s})
}

// sameLength reports whether every sequence has the first one's length.
func sameLength(seqs []Sequence) bool {
	for _, s := range seqs {
		if len(s.IDs) != len(seqs[0].IDs) {
			return false
		}
	}
	return true
}

// pass runs the model over the stages' sequences, with their analysis hooks
// (zero nil) or with zero (the ablation j) for all, and adds each sequence's
// loss to its stage. bm is nil when the model cannot batch; there is then one
// stage.
func (a *Accumulator) pass(bm model.Batcher, stages []*stage, zero *hooks.Set, j int) error {
	loss := func(st *stage) *lossSum {
		if j < 0 {
			return &st.loss
		}
		return &st.abl[j]
	}
	defer func() {
		for range stages {
			a.progress()
		}
	}()
	if bm == nil {
		st := stages[0]
		hs := st.hooks
		if zero != nil {
			hs = zero
		}
		logits, err := a.forward(st.seq.IDs, hs)
		if err != nil {
			return fmt.Errorf("metrics: forward pass: %w", err)
		}
		T := len(st.seq.IDs)
		if len(logits) != T*a.info.Vocab {
			return fmt.Errorf("metrics: forward pass returned %d logits, want %d×%d", len(logits), T, a.info.Vocab)
		}
		return loss(st).add(logits, 0, st.seq, a.info.Vocab)
	}
	ids := make([][]int, len(stages))
	hs := make([]*hooks.Set, len(stages))
	for b, st := range stages {
		ids[b], hs[b] = st.seq.IDs, st.hooks
		if zero != nil {
			hs[b] = zero
		}
	}
	err := bm.ForwardBatch(ids, hs, func(b, i0 int, chunk []float32) error {
		return loss(stages[b]).add(chunk, i0, stages[b].seq, a.info.Vocab)
	})
	if err != nil {
		return fmt.Errorf("metrics: forward pass: %w", err)
	}
	for _, st := range stages {
		if l := loss(st); l.next != len(st.seq.IDs) {
			return fmt.Errorf("metrics: forward pass returned logits for %d of %d positions", l.next, len(st.seq.IDs))
		}
	}
	return nil
}

// newHooks builds the analysis hooks of one batch slot; they read the
// sequence being added from st.seq.
func (a *Accumulator) newHooks(st *stage) *hooks.Set {
	hs := new(hooks.Set)
	for l := 0; l < a.info.Layers; l++ {
		hs.AddBlocks(l, func(b hooks.Block) { a.onBlock(st, b) })
		hs.Add(hooks.At(l, hooks.AttnV), func(p hooks.Point, t hooks.Tensor) { a.onV(st, p.Layer, t) })
		hs.Add(hooks.At(l, hooks.Z), func(p hooks.Point, t hooks.Tensor) { a.onZ(st, p.Layer, t) })
		hs.Add(hooks.At(l, hooks.ResidPost), func(p hooks.Point, t hooks.Tensor) { a.onResid(st, p.Layer, t) })
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

// reset sizes st for a pass of a over s and clears it.
func (st *stage) reset(a *Accumulator, s Sequence) {
	T := len(s.IDs)
	st.seq, st.T = s, T
	st.loss = lossSum{}
	st.abl = append(st.abl[:0], make([]lossSum, len(a.opts.Ablate))...)
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

// commit folds the staged pass st into the running sums.
func (a *Accumulator) commit(st0 *stage, loss float64, dloss []float64) {
	s := st0.seq
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
		acc, st := &a.heads[i], &st0.heads[i]
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
	a.sinkTok.add(s, st0.heads)
	for i, st := range st0.kv {
		if st.n > 0 {
			a.kv[i].first += st.first
			a.kv[i].rest += st.rest
			a.kv[i].n++
		}
	}
	for i, st := range st0.layers {
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
