package metrics

import (
	"errors"
	"fmt"
	"math"

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

	heads  []headAcc  // [Layers*Heads]
	kv     []kvAcc    // [Layers*KVHeads]
	layers []layerAcc // [Layers]
	dloss  []Welford  // [len(opts.Ablate)]

	st     stage     // the current pass
	err    error     // first problem a hook met during the current pass
	gram   *gram     // ‖W_O^(h) x‖ through per-head Gram matrices
	logits []float32 // [T, vocab] reused by models that write logits in place

	cur   Sequence    // the sequence being added, read by the hooks
	hooks *hooks.Set  // the analysis hooks, built on first use
	zero  []hooks.Set // [len(opts.Ablate)] one head zeroed each
	dl    []float64   // [len(opts.Ablate)] Δloss of the current sequence
}

// headAcc holds one head's running sums over sequences.
type headAcc struct {
	first                                    Welford
	firstQueries                             int // queries that counted toward first, over all sequences
	dlogit, valFirst, valRest, out, row, col float64
	prev                                     float64
	nDlogit, nVal, nOut, nEnt, nPrev         int
	mass                                     []float64 // [longest T] Σ over sequences of attn_mass[k]
	massN                                    []int     // [longest T] sequences contributing to mass[k]
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
	col    []float32    // [T] scratch
	abs    []float64    // [DModel] scratch
}

type headStage struct {
	first, dlogit, valFirst, valRest, out, row, col float64
	prev                                            float64
	nFirst                                          int // queries first counts (fewer on a sliding-window layer)
	seenPattern, seenScores, seenV, seenZ           bool
	mass                                            []float64 // [T]
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
	a.commit(base, dl)
	return nil
}

// newHooks builds the hooks of an analysis pass once; they read the
// sequence being added from a.cur.
func (a *Accumulator) newHooks() *hooks.Set {
	hs := new(hooks.Set)
	for l := 0; l < a.info.Layers; l++ {
		hs.Add(hooks.At(l, hooks.Pattern), func(p hooks.Point, t hooks.Tensor) { a.onPattern(p.Layer, t, a.cur) })
		hs.Add(hooks.At(l, hooks.AttnScores), func(p hooks.Point, t hooks.Tensor) { a.onScores(p.Layer, t, a.cur) })
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

// fail records the first problem met inside a hook.
func (a *Accumulator) fail(err error) {
	if a.err == nil {
		a.err = err
	}
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
		m := st.heads[i].mass
		if cap(m) < T {
			m = make([]float64, T)
		}
		st.heads[i] = headStage{mass: m[:T]}
	}
	clear(st.kv)
	clear(st.layers)
	if cap(st.norms) < T {
		st.norms = make([]float64, T)
		st.col = make([]float32, 0, T)
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

func (a *Accumulator) onPattern(l int, t hooks.Tensor, s Sequence) {
	T, H := a.st.T, a.info.Heads
	if !a.checkShape(hooks.At(l, hooks.Pattern), t, H, T, T) {
		return
	}
	for h := 0; h < H; h++ {
		m := t.Data[h*T*T : (h+1)*T*T]
		hs := &a.st.heads[l*H+h]
		w := model.LayerWindow(a.m, l)
		hs.first, hs.nFirst = firstAttn(m, T, s, w)
		attnMass(hs.mass, m, T, s, w)
		hs.prev = prevAttn(m, T, s)
		hs.row = rowEntropy(m, T, s)
		hs.col = colEntropy(m, T, s, a.st.col)
		hs.seenPattern = true
		if math.IsNaN(hs.first) && hs.nFirst > 0 {
			a.fail(fmt.Errorf("metrics: layer %d head %d: attention pattern is not a finite number", l, h))
		}
	}
}

func (a *Accumulator) onScores(l int, t hooks.Tensor, s Sequence) {
	T, H := a.st.T, a.info.Heads
	if !a.checkShape(hooks.At(l, hooks.AttnScores), t, H, T, T) {
		return
	}
	for h := 0; h < H; h++ {
		hs := &a.st.heads[l*H+h]
		hs.dlogit = dlogitFirst(t.Data[h*T*T:(h+1)*T*T], T, s)
		hs.seenScores = true
	}
}

// onV computes ‖W_O^(h) v_k‖ for every head and key (a query head reads the
// values of KV head h / (H/KV)) and the raw ‖v_k‖ per KV head.
func (a *Accumulator) onV(l int, t hooks.Tensor) {
	T, H, KV, dh := a.st.T, a.info.Heads, a.info.KVHeads, a.info.HeadDim
	if !a.checkShape(hooks.At(l, hooks.AttnV), t, T, KV, dh) {
		return
	}
	norms := a.st.norms[:T]
	for h := 0; h < H; h++ {
		kv := h / (H / KV)
		for k := 0; k < T; k++ {
			norms[k] = a.gram.norm(l, h, t.Data[(k*KV+kv)*dh:(k*KV+kv+1)*dh])
		}
		hs := &a.st.heads[l*H+h]
		hs.valFirst = norms[0]
		hs.valRest = median(norms[1:])
		hs.seenV = true
	}
	for kv := 0; kv < KV; kv++ {
		for k := 0; k < T; k++ {
			norms[k] = norm(t.Data[(k*KV+kv)*dh : (k*KV+kv+1)*dh])
		}
		a.st.kv[l*KV+kv] = kvAcc{first: norms[0], rest: median(norms[1:]), n: 1}
	}
}

// onZ computes the head output norm, the mean over counted queries i ≥ 1 of
// ‖W_O^(h) z_i‖.
func (a *Accumulator) onZ(l int, t hooks.Tensor, s Sequence) {
	T, H, dh := a.st.T, a.info.Heads, a.info.HeadDim
	if !a.checkShape(hooks.At(l, hooks.Z), t, T, H, dh) {
		return
	}
	for h := 0; h < H; h++ {
		var sum float64
		n := 0
		for i := 1; i < T; i++ {
			if !s.query(i) {
				continue
			}
			sum += a.gram.norm(l, h, t.Data[(i*H+h)*dh:(i*H+h+1)*dh])
			n++
		}
		hs := &a.st.heads[l*H+h]
		hs.out = sum / float64(n)
		hs.seenZ = true
	}
}

func (a *Accumulator) onResid(l int, t hooks.Tensor) {
	T, d := a.st.T, a.info.DModel
	if !a.checkShape(hooks.At(l, hooks.ResidPost), t, T, d) {
		return
	}
	ls := layerStage{seen: true}
	norms := a.st.norms[:T]
	for k := 0; k < T; k++ {
		x := t.Data[k*d : (k+1)*d]
		if !finite(x) {
			a.fail(fmt.Errorf("metrics: layer %d: residual stream at position %d holds NaN or Inf", l, k))
			return
		}
		norms[k] = norm(x)
		var mx float64
		var c int
		mx, c, a.st.abs = massive(x, a.st.abs)
		ls.massive += c
		if k == 0 {
			ls.massive0 = c
		}
		ls.maxAbs = math.Max(ls.maxAbs, mx)
	}
	ls.first = norms[0]
	ls.rest = median(norms[1:])
	ls.ratio = ls.first / ls.rest
	a.st.layers[l] = ls
}

// commit folds the staged pass into the running sums.
func (a *Accumulator) commit(loss float64, dloss []float64) {
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
		if st.seenPattern {
			if st.nFirst > 0 {
				acc.first.Add(st.first)
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
			if !math.IsNaN(st.prev) {
				acc.prev += st.prev
				acc.nPrev++
			}
			if !math.IsNaN(st.row) && !math.IsNaN(st.col) {
				acc.row += st.row
				acc.col += st.col
				acc.nEnt++
			}
		}
		if st.seenScores && !math.IsNaN(st.dlogit) {
			acc.dlogit += st.dlogit
			acc.nDlogit++
		}
		if st.seenV {
			acc.valFirst += st.valFirst
			acc.valRest += st.valRest
			acc.nVal++
		}
		if st.seenZ {
			acc.out += st.out
			acc.nOut++
		}
	}
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
