package metrics

import (
	"fmt"
	"math"
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
// provided it), except FirstAttnStd; the package documentation defines each.
type HeadResult struct {
	Layer, Head int
	NSeqs       int // sequences that contributed first_attn

	FirstAttn    float64 // first_attn
	FirstAttnStd float64 // sample standard deviation over sequences of the per-sequence first_attn
	// FirstAttnQueries is the number of queries FirstAttn averages, summed
	// over sequences: on a sliding-window layer only those that can see key 0.
	FirstAttnQueries int

	// AttnMass[k] is attn_mass[k], averaged over the sequences long enough
	// to have key k.
	AttnMass []float64 // [longest T]
	// Sinks are the two candidate keys with the largest AttnMass (-1 when
	// absent).
	Sinks [2]int

	PrevAttn       float64 // prev_attn
	DLogitFirst    float64 // dlogit_first
	ValueNormFirst float64 // value_norm_first
	ValueNormRest  float64 // value_norm_rest
	ValueNormMean  float64 // value_norm_mean
	ZNorm          float64 // z_norm
	ZNormLN        float64 // ahon_ln
	HeadOutNorm    float64 // head_out_norm
	HeadOutNormLN  float64 // head_out_norm_ln
	LastOutNorm    float64 // last_out_norm
	RowEntropy     float64 // row_entropy (0 = one key per query)
	ColEntropy     float64 // col_entropy (≈ 1 for a sink column)
	EntropyScore   float64 // entropy

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

	// SinkTokens[r] counts the sequences whose sink of rank r+1 (over the
	// attention mass averaged over every head) sits on each token, by count
	// descending, then token id.
	SinkTokens [2][]TokenCount
}

// Head returns the result of head h of layer l.
func (d *DomainResult) Head(l, h int) *HeadResult { return &d.HeadRes[l*d.Heads+h] }

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

		SinkTokens: a.sinkTok.result(),
	}
	for i, acc := range a.heads {
		mean := func(s stat) float64 { return acc.v[s].Mean() }
		r := HeadResult{
			Layer:            i / info.Heads,
			Head:             i % info.Heads,
			NSeqs:            acc.v[statFirst].N(),
			FirstAttn:        mean(statFirst),
			FirstAttnStd:     acc.v[statFirst].Std(),
			FirstAttnQueries: acc.firstQueries,
			AttnMass:         make([]float64, len(acc.mass)),
			PrevAttn:         mean(statPrev),
			DLogitFirst:      mean(statDLogit),
			ValueNormFirst:   mean(statValFirst),
			ValueNormRest:    mean(statValRest),
			ValueNormMean:    mean(statValMean),
			ZNorm:            mean(statZ),
			ZNormLN:          mean(statZLN),
			HeadOutNorm:      mean(statOut),
			HeadOutNormLN:    mean(statOutLN),
			LastOutNorm:      mean(statLastOut),
			RowEntropy:       mean(statRow),
			ColEntropy:       mean(statCol),
			EntropyScore:     mean(statEntropy),
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
