package lab

import (
	"fmt"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/loader"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/metrics"
)

// HeadRow is one head's behaviour on one query domain: the statistics of
// package metrics, under the names `sinkscope heads` prints them (first_attn
// is HeadResult.FirstAttn, n_queries HeadResult.FirstAttnQueries, and so on).
type HeadRow struct {
	Domain string // DomainTrigger or DomainNonTrigger
	metrics.HeadResult
	Class metrics.Class // metrics.DefaultClassifier's class of FirstAttn
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

// Analyze measures m on its own domains, m.Domains(n, seed): each domain, in
// the order Domains returns them, goes through a metrics.Accumulator, the
// reducer of `sinkscope heads`, so that the head table holds the same numbers
// bit for bit. Layers without attention have no rows.
//
// The component ablations run on the same n sequences, which have the
// task's length T: the targets are ids[1:], so T−1 positions are predicted
// (the training loss and the dynamics log, whose sequences have T+1 tokens,
// predict T). Each row holds the risks with nothing removed ("full"), or with
// one layer's attention (hook_attn_out) or MLP (hook_mlp_out) output zeroed
// (PAPER §1.7).
func Analyze(m *bbtoy.Model, n int, seed uint64) (*Analysis, error) {
	if n < 1 {
		return nil, fmt.Errorf("bbtoy: analyze: %d sequences, want ≥ 1", n)
	}
	doms := m.Domains(n, seed)
	cl := metrics.DefaultClassifier()
	an := &Analysis{Seqs: n}
	for _, d := range doms {
		acc, err := metrics.NewAccumulator(m, metrics.Options{})
		if err != nil {
			return nil, err
		}
		err = d.Each(func(ids []int, q []bool) error { return acc.Add(metrics.Sequence{IDs: ids, Queries: q}) })
		if err != nil {
			return nil, fmt.Errorf("bbtoy: analyze: domain %s: %w", d.Name, err)
		}
		res := acc.Result()
		for _, r := range res.HeadRes {
			if m.Config().HasAttn(r.Layer) {
				an.Heads = append(an.Heads, HeadRow{Domain: d.Name, HeadResult: r, Class: cl.Class(r.FirstAttn)})
			}
		}
	}

	type ablation struct {
		name string
		hs   hooks.Set
		sum  riskSums
	}
	abl := []*ablation{{name: "full"}}
	for l := 0; l < m.Config().Layers; l++ {
		if m.Config().HasAttn(l) {
			a := &ablation{name: fmt.Sprintf("no-attn L%d", l)}
			a.hs.Add(hooks.ZeroAttention(l))
			abl = append(abl, a)
		}
		if m.Config().HasMLP(l) {
			a := &ablation{name: fmt.Sprintf("no-mlp L%d", l)}
			a.hs.Add(hooks.ZeroMLP(l))
			abl = append(abl, a)
		}
	}
	// Every domain draws the same sequences; the masks do not matter here.
	err := doms[0].Each(func(ids []int, _ []bool) error {
		T := len(ids)
		for _, a := range abl {
			logits, err := m.Forward(ids, &a.hs)
			if err != nil {
				return err
			}
			a.sum.add(riskOf(m.Task(), ids[:T-1], ids[1:], logits))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bbtoy: analyze: %w", err)
	}
	for _, a := range abl {
		r := a.sum.record()
		an.Ablations = append(an.Ablations, AblationRow{Name: a.name, BackcopyRisk: r.BackcopyRisk, BigramRisk: r.BigramRisk,
			BigramExcess: r.BigramExcess, Loss: r.Loss})
	}
	return an, nil
}

// AnalyzeCheckpoint is Analyze on the BB checkpoint in dir, or on the
// built-in one when dir is "".
func AnalyzeCheckpoint(dir string, n int, seed uint64) (*Analysis, error) {
	if n < 1 {
		return nil, optionf("%d sequences: want at least 1", n)
	}
	var ck *loader.Checkpoint
	var err error
	if dir == "" {
		ck, err = loader.OpenFS(bbtoy.Builtin(), ".")
	} else {
		ck, err = loader.Open(dir)
	}
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	m, err := bbtoy.New(ck)
	if err != nil {
		return nil, err
	}
	return Analyze(m, n, seed)
}
