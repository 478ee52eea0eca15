package bbtoy

import (
	"fmt"
	"math/rand/v2"

	"github.com/sinkscope/sinkscope/hooks"
)

// Domains of BB queries: grouped by the input token at the query position.
const (
	DomainTrigger    = "trigger"
	DomainNonTrigger = "non-trigger"
)

// Classification thresholds on first_attn (sinkscope's defaults, DESIGN §5).
const (
	DormantAt   = 0.8 // dormant when mean attention to BOS ≥ DormantAt
	ActiveBelow = 0.5 // active when < ActiveBelow; mixed in between
)

// Classify names a head's behaviour on a domain from its mean attention to BOS.
func Classify(firstAttn float64) string {
	switch {
	case firstAttn >= DormantAt:
		return "dormant"
	case firstAttn < ActiveBelow:
		return "active"
	}
	return "mixed"
}

// HeadRow is one head's behaviour on one query domain.
type HeadRow struct {
	Layer, Head   int
	Domain        string  // DomainTrigger or DomainNonTrigger
	Queries       int     // query positions measured (position 0 excluded)
	FirstAttn     float64 // mean A[i,0]
	PrevAttn      float64 // mean A[i,i−1]
	ValueNormBOS  float64 // ‖W_O^(h) v_0‖
	ValueNormRest float64 // median ‖W_O^(h) v_i‖ over positions i ≥ 1
	Class         string  // dormant, active or mixed
}

// AblationRow is the model's risks with one component removed.
type AblationRow struct {
	Name         string // "full", "no-attn L0", "no-mlp L0", ...
	BackcopyRisk float64
	BigramRisk   float64
	BigramExcess float64
	Loss         float64
}

// Analysis is the head table and the component ablations of a BB model.
type Analysis struct {
	Heads     []HeadRow
	Ablations []AblationRow
	Seqs      int
}

// Analyze runs m on n generated sequences (PCG(seed, 27)) through its
// model.Model interface with hooks: per head, attention to BOS and to the
// previous token on trigger and non-trigger queries and the value norms;
// then the risks with each layer's attention (hook_attn_out) or MLP
// (hook_mlp_out) zeroed (PAPER §1.7).
func Analyze(m *Model, n int, seed uint64) (*Analysis, error) {
	if n < 1 {
		return nil, fmt.Errorf("bbtoy: analyze: %d sequences, want ≥ 1", n)
	}
	task := m.task
	T := task.SeqLen()
	rng := rand.New(rand.NewPCG(seed, 27))
	seqs := make([][]int, n)
	for i := range seqs {
		seqs[i] = make([]int, T+1)
		task.Sample(rng, seqs[i])
	}
	c := m.cfg
	H, dh, d := c.Heads, c.HeadDim(), c.D
	type acc struct {
		first, prev float64
		n           int
		vRest       []float64
		vBOS        float64
	}
	accs := map[[3]int]*acc{} // layer, head, trigger(0/1)
	get := func(l, h, tr int) *acc {
		k := [3]int{l, h, tr}
		if accs[k] == nil {
			accs[k] = &acc{}
		}
		return accs[k]
	}
	var full riskSums
	out := make([]float32, d)
	for _, s := range seqs {
		in := s[:T]
		var hs hooks.Set
		cache := hooks.Cache{}
		var pts []hooks.Point
		for l := 0; l < c.Layers; l++ {
			if c.hasAttn(l) {
				pts = append(pts, hooks.At(l, hooks.Pattern), hooks.At(l, hooks.AttnV))
			}
		}
		cache.Capture(&hs, pts...)
		logits, err := m.Forward(in, &hs)
		if err != nil {
			return nil, err
		}
		full.add(riskOf(task, in, s[1:], logits))
		for l := 0; l < c.Layers; l++ {
			if !c.hasAttn(l) {
				continue
			}
			pat, v := cache[hooks.At(l, hooks.Pattern)].Data, cache[hooks.At(l, hooks.AttnV)].Data
			for h := 0; h < H; h++ {
				for i := 1; i < T; i++ {
					tr := 0
					if task.IsTrigger(in[i]) {
						tr = 1
					}
					a := get(l, h, tr)
					a.first += float64(pat[h*T*T+i*T])
					a.prev += float64(pat[h*T*T+i*T+i-1])
					a.n++
				}
				for i := 0; i < T; i++ {
					m.HeadOutput(l, h, out, v[i*d+h*dh:i*d+(h+1)*dh])
					if i == 0 {
						get(l, h, 0).vBOS += norm(out)
					} else {
						a := get(l, h, 0)
						a.vRest = append(a.vRest, norm(out))
					}
				}
			}
		}
	}
	an := &Analysis{Seqs: n}
	for l := 0; l < c.Layers; l++ {
		if !c.hasAttn(l) {
			continue
		}
		for h := 0; h < H; h++ {
			vb := get(l, h, 0).vBOS / float64(n)
			vr := median(get(l, h, 0).vRest)
			for _, dom := range []struct {
				name string
				tr   int
			}{{DomainNonTrigger, 0}, {DomainTrigger, 1}} {
				a := get(l, h, dom.tr)
				row := HeadRow{Layer: l, Head: h, Domain: dom.name, Queries: a.n, ValueNormBOS: vb, ValueNormRest: vr}
				if a.n > 0 {
					row.FirstAttn, row.PrevAttn = a.first/float64(a.n), a.prev/float64(a.n)
					row.Class = Classify(row.FirstAttn)
				}
				an.Heads = append(an.Heads, row)
			}
		}
	}
	abl := func(name string, p hooks.Point, f hooks.Func) error {
		var sum riskSums
		for _, s := range seqs {
			var hs hooks.Set
			if f != nil {
				hs.Add(p, f)
			}
			logits, err := m.Forward(s[:T], &hs)
			if err != nil {
				return err
			}
			sum.add(riskOf(task, s[:T], s[1:], logits))
		}
		r := sum.record()
		an.Ablations = append(an.Ablations, AblationRow{Name: name, BackcopyRisk: r.BackcopyRisk, BigramRisk: r.BigramRisk,
			BigramExcess: r.BigramExcess, Loss: r.Loss})
		return nil
	}
	r := full.record()
	an.Ablations = append(an.Ablations, AblationRow{Name: "full", BackcopyRisk: r.BackcopyRisk, BigramRisk: r.BigramRisk,
		BigramExcess: r.BigramExcess, Loss: r.Loss})
	for l := 0; l < c.Layers; l++ {
		if c.hasAttn(l) {
			p, f := hooks.ZeroAttention(l)
			if err := abl(fmt.Sprintf("no-attn L%d", l), p, f); err != nil {
				return nil, err
			}
		}
		if c.hasMLP(l) {
			p, f := hooks.ZeroMLP(l)
			if err := abl(fmt.Sprintf("no-mlp L%d", l), p, f); err != nil {
				return nil, err
			}
		}
	}
	return an, nil
}
