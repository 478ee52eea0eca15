package metrics

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/sinkscope/sinkscope/model"
)

// Head names one attention head.
type Head struct{ Layer, Head int }

// String prints h as "layer.head", the form ParseHeads reads.
func (h Head) String() string { return strconv.Itoa(h.Layer) + "." + strconv.Itoa(h.Head) }

func (h Head) check(info model.Info) error {
	if h.Layer < 0 || h.Layer >= info.Layers || h.Head < 0 || h.Head >= info.Heads {
		return fmt.Errorf("metrics: head %v outside a model of %d layers × %d heads", h, info.Layers, info.Heads)
	}
	return nil
}

// ParseHeads reads a comma-separated list of heads written "layer.head",
// e.g. "16.25,3.1".
func ParseHeads(s string) ([]Head, error) {
	var out []Head
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ls, hs, ok := strings.Cut(f, ".")
		l, err1 := strconv.Atoi(ls)
		h, err2 := strconv.Atoi(hs)
		if !ok || err1 != nil || err2 != nil || l < 0 || h < 0 {
			return nil, fmt.Errorf("metrics: head %q: want layer.head, e.g. 16.25", f)
		}
		out = append(out, Head{l, h})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("metrics: head list %q names no head", s)
	}
	return out, nil
}

// AllHeads lists every head of a model, layer-major.
func AllHeads(info model.Info) []Head {
	out := make([]Head, 0, info.Layers*info.Heads)
	for l := 0; l < info.Layers; l++ {
		for h := 0; h < info.Heads; h++ {
			out = append(out, Head{l, h})
		}
	}
	return out
}

// HeadResult is one head's statistics over a domain. Every value is the mean
// over the domain's sequences of that sequence's value (NaN when no sequence
// provided it), except FirstAttnStd.
type HeadResult struct {
	Layer, Head int
	NSeqs       int // sequences that contributed first_attn

	FirstAttn    float64 // mean over counted queries i ≥ 1 of A[i,0] (on a sliding-window layer: those i < window)
	FirstAttnStd float64 // sample standard deviation over sequences of the per-sequence first_attn
	// FirstAttnQueries is the number of queries FirstAttn averages, summed
	// over sequences: on a sliding-window layer only those that can see key 0.
	FirstAttnQueries int

	// AttnMass[k] is Σ_{i≥k} A[i,k] / #{i ≥ k} over counted queries, averaged
	// over the sequences long enough to have key k.
	AttnMass []float64 // [longest T]
	// Sinks are the two keys with the largest AttnMass (-1 when absent).
	Sinks [2]int

	PrevAttn       float64 // mean over counted queries i ≥ 1 of A[i,i−1], the attention on the previous token
	DLogitFirst    float64 // mean over counted queries i ≥ 1 of S[i,0] − mean_{j≤i} S[i,j]
	ValueNormFirst float64 // ‖W_O^(h) v_0‖
	ValueNormRest  float64 // median over positions k ≥ 1 of ‖W_O^(h) v_k‖
	HeadOutNorm    float64 // mean over counted queries i ≥ 1 of ‖W_O^(h) z_i‖
	RowEntropy     float64 // mean normalised row entropy (0 = one key per query)
	ColEntropy     float64 // largest normalised column entropy (≈ 1 for a sink column)

	Ablated       bool
	AblationDLoss float64 // mean over sequences of loss(head zeroed) − loss; NaN unless Ablated
}

// AttnMassFirst is AttnMass[0], the mean attention on the first token.
func (r HeadResult) AttnMassFirst() float64 {
	if len(r.AttnMass) == 0 {
		return math.NaN()
	}
	return r.AttnMass[0]
}

// KVResult is one KV head's raw value-state norms over a domain.
type KVResult struct {
	Layer, KVHead  int
	ValueNormFirst float64 // ‖v_0‖
	ValueNormRest  float64 // median over positions k ≥ 1 of ‖v_k‖
}

// LayerResult is one layer's residual-stream statistics over a domain
// (hook_resid_post, the layer's output).
type LayerResult struct {
	Layer          int
	ResidNormFirst float64 // ‖x_0‖
	ResidNormRest  float64 // median over positions k ≥ 1 of ‖x_k‖
	PeakRatio      float64 // per sequence ‖x_0‖ / median ‖x_k‖, averaged
	Massive        int     // massive coordinates summed over all positions and sequences
	MassiveFirst   int     // of which at position 0
	MaxAbs         float64 // largest |x| seen
}

// DomainResult is everything an Accumulator learnt about one domain.
type DomainResult struct {
	NSeqs   int     // sequences folded in
	Skipped int     // sequences with no counted query i ≥ 1
	Loss    float64 // mean next-token cross-entropy over the counted positions
	Layers  int
	Heads   int
	HeadRes []HeadResult  // [Layers*Heads], layer-major
	KV      []KVResult    // [Layers*KVHeads]
	Resid   []LayerResult // [Layers]
}

// Head returns the result of head h of layer l.
func (d *DomainResult) Head(l, h int) *HeadResult { return &d.HeadRes[l*d.Heads+h] }

// SinkRate is Gu et al.'s sink metric: the fraction of heads whose mean
// attention mass on the first token exceeds eps (they use eps = 0.3, T = 64).
func (d *DomainResult) SinkRate(eps float64) float64 {
	if len(d.HeadRes) == 0 {
		return math.NaN()
	}
	n := 0
	for _, r := range d.HeadRes {
		if r.AttnMassFirst() > eps {
			n++
		}
	}
	return float64(n) / float64(len(d.HeadRes))
}

// Result returns the statistics gathered so far.
func (a *Accumulator) Result() DomainResult {
	info := a.info
	d := DomainResult{
		NSeqs:   a.nSeqs,
		Skipped: a.skipped,
		Loss:    a.loss.Mean(),
		Layers:  info.Layers,
		Heads:   info.Heads,
		HeadRes: make([]HeadResult, len(a.heads)),
		KV:      make([]KVResult, len(a.kv)),
		Resid:   make([]LayerResult, len(a.layers)),
	}
	for i, acc := range a.heads {
		r := HeadResult{
			Layer:            i / info.Heads,
			Head:             i % info.Heads,
			NSeqs:            acc.first.N(),
			FirstAttn:        acc.first.Mean(),
			FirstAttnStd:     acc.first.Std(),
			FirstAttnQueries: acc.firstQueries,
			AttnMass:         make([]float64, len(acc.mass)),
			PrevAttn:         ratio(acc.prev, acc.nPrev),
			DLogitFirst:      ratio(acc.dlogit, acc.nDlogit),
			ValueNormFirst:   ratio(acc.valFirst, acc.nVal),
			ValueNormRest:    ratio(acc.valRest, acc.nVal),
			HeadOutNorm:      ratio(acc.out, acc.nOut),
			RowEntropy:       ratio(acc.row, acc.nEnt),
			ColEntropy:       ratio(acc.col, acc.nEnt),
			AblationDLoss:    math.NaN(),
		}
		for k := range acc.mass {
			r.AttnMass[k] = ratio(acc.mass[k], acc.massN[k])
		}
		r.Sinks = topTwo(r.AttnMass)
		d.HeadRes[i] = r
	}
	for j, h := range a.opts.Ablate {
		r := d.Head(h.Layer, h.Head)
		r.Ablated = true
		r.AblationDLoss = a.dloss[j].Mean()
	}
	for i, acc := range a.kv {
		d.KV[i] = KVResult{
			Layer: i / info.KVHeads, KVHead: i % info.KVHeads,
			ValueNormFirst: ratio(acc.first, acc.n), ValueNormRest: ratio(acc.rest, acc.n),
		}
	}
	for i, acc := range a.layers {
		d.Resid[i] = LayerResult{
			Layer:          i,
			ResidNormFirst: ratio(acc.first, acc.n),
			ResidNormRest:  ratio(acc.rest, acc.n),
			PeakRatio:      ratio(acc.ratio, acc.n),
			Massive:        acc.massive,
			MassiveFirst:   acc.massive0,
			MaxAbs:         acc.maxAbs,
		}
	}
	return d
}

func ratio(sum float64, n int) float64 {
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

// topTwo returns the indices of the two largest non-NaN values (ties go to the
// smaller index), -1 where there is none.
func topTwo(xs []float64) [2]int {
	idx := make([]int, 0, len(xs))
	for k, x := range xs {
		if !math.IsNaN(x) {
			idx = append(idx, k)
		}
	}
	sort.SliceStable(idx, func(i, j int) bool { return xs[idx[i]] > xs[idx[j]] })
	out := [2]int{-1, -1}
	for i := 0; i < 2 && i < len(idx); i++ {
		out[i] = idx[i]
	}
	return out
}
