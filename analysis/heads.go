package analysis

import (
	"fmt"
	"slices"

	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
)

// HeadOptions configures Heads.
type HeadOptions struct {
	// Ablate lists the heads whose ablation cost (Δloss) to measure, one
	// extra forward pass per head and sequence; AblateAll measures every
	// head.
	Ablate    []metrics.Head
	AblateAll bool
	// Zeroing, when not nil, measures calibrated zeroing curves (see
	// Zeroing).
	Zeroing *Zeroing
	// Progress, when not nil, is called after every forward pass.
	Progress func()
	// BatchRows bounds the positions of the sequences that go through one
	// batched forward pass together (sequences of equal length, for a
	// model.Batcher; the results are identical to one pass per sequence).
	// 0 means DefaultBatchRows; 1 runs every sequence alone.
	BatchRows int
}

// DefaultBatchRows is HeadOptions.BatchRows when it is 0: enough positions
// for the matrix products to reuse each weight block over a full token
// block, few enough that a batch's activations stay small.
const DefaultBatchRows = 512

// Report is one model's analysis over its domains.
type Report struct {
	Label   string     // the model, as given to Open
	Info    model.Info // its shape
	Domains []DomainReport
	// Tokens names the tokens the report counts (the sink tokens of
	// metrics.DomainResult.SinkTokens), for printing after the model is
	// closed.
	Tokens map[int]string
}

// DomainReport is the analysis of one domain.
type DomainReport struct {
	Name    string
	Note    string // what the domain selects, when it is the model's own
	Items   int    // texts or sequences in the source
	Skipped int    // texts shorter than Inputs.SeqLen
	First   string // which token sits at position 0 of the sequences
	Result  metrics.DomainResult
	Curves  []Curve // calibrated zeroing, when asked for
}

// Classes classifies every head on every domain: [domain][layer-major head].
func (r *Report) Classes(cl metrics.Classifier) [][]metrics.Class {
	out := make([][]metrics.Class, len(r.Domains))
	for j := range r.Domains {
		out[j] = cl.Classify(&r.Domains[j].Result)
	}
	return out
}

// heads resolves the heads to ablate in a model of shape info.
func (o HeadOptions) heads(info model.Info, label string) ([]metrics.Head, error) {
	if o.AblateAll {
		return metrics.AllHeads(info), nil
	}
	for _, h := range o.Ablate {
		if h.Layer >= info.Layers || h.Head >= info.Heads {
			return nil, OptionError{fmt.Errorf("--ablate: head %v is outside %s (%d layers × %d heads)", h, label, info.Layers, info.Heads)}
		}
	}
	return o.Ablate, nil
}

// Passes is the number of forward passes Heads makes over domains.
func (o HeadOptions) Passes(info model.Info, domains []Domain) int {
	per := 1
	if o.AblateAll {
		per += info.Layers * info.Heads
	} else {
		per += len(o.Ablate)
	}
	if o.Zeroing != nil {
		per += o.Zeroing.passes()
	}
	n := 0
	for _, d := range domains {
		n += d.Len * per
	}
	return n
}

// Heads runs m over every domain and reduces each to per-head statistics
// (package metrics), with the ablations and zeroing curves asked for.
func Heads(m *Model, domains []Domain, opts HeadOptions) (*Report, error) {
	info := m.Info()
	heads, err := opts.heads(info, m.Label)
	if err != nil {
		return nil, err
	}
	if err := opts.Zeroing.check(); err != nil {
		return nil, err
	}
	rep := &Report{Label: m.Label, Info: info}
	bos, hasBOS := m.BOS()
	for _, d := range domains {
		var z *zeroRun
		mo := metrics.Options{Ablate: heads, Progress: opts.Progress}
		if opts.Zeroing != nil {
			z = opts.Zeroing.start(info)
			mo.OnSequence = z.record
		}
		acc, err := metrics.NewAccumulator(m.Model, mo) // the family itself, whose optional capabilities metrics asks for
		if err != nil {
			return nil, fmt.Errorf("%s: --ablate: %w", m.Label, err)
		}
		b := batcher{acc: acc, rows: opts.BatchRows}
		if b.rows == 0 {
			b.rows = DefaultBatchRows
		}
		if z != nil {
			mo.OnSequence = nil // set through b, which knows each sequence's index
			b.z = z
		}
		i, withBOS := 0, 0
		err = d.Each(func(s metrics.Sequence) error {
			i++
			if hasBOS && s.IDs[0] == bos {
				withBOS++
			}
			if err := b.add(s, i-1); err != nil {
				return fmt.Errorf("%s: domain %q, %w", m.Label, d.Name, err)
			}
			return nil
		})
		if err == nil {
			if err = b.flush(); err != nil {
				err = fmt.Errorf("%s: domain %q, %w", m.Label, d.Name, err)
			}
		}
		if err != nil {
			return nil, err
		}
		dr := DomainReport{Name: d.Name, Note: d.Note, Items: d.Items, Skipped: d.Skipped,
			First: firstNote(m, bos, hasBOS, withBOS, d.Len), Result: acc.Result()}
		if z != nil {
			if dr.Curves, err = z.curves(m.Model, d, opts.Progress); err != nil {
				return nil, fmt.Errorf("%s: domain %q: zeroing: %w", m.Label, d.Name, err)
			}
		}
		for _, rank := range dr.Result.SinkTokens {
			for _, tc := range rank {
				if rep.Tokens == nil {
					rep.Tokens = map[int]string{}
				}
				rep.Tokens[tc.ID] = m.TokenName(tc.ID)
			}
		}
		rep.Domains = append(rep.Domains, dr)
	}
	return rep, nil
}

// batcher gathers a domain's sequences into batches of one length for
// Accumulator.AddBatch.
type batcher struct {
	acc  *metrics.Accumulator
	rows int      // positions per batch at most
	z    *zeroRun // records each sequence's scores, when zeroing
	seqs []metrics.Sequence
	idx  []int // each one's index in the domain
}

// add queues s, the domain's sequence i (copied: Each reuses it), running the
// batch first when s does not fit it.
func (b *batcher) add(s metrics.Sequence, i int) error {
	if len(b.seqs) > 0 && (len(s.IDs) != len(b.seqs[0].IDs) || (len(b.seqs)+1)*len(s.IDs) > b.rows) {
		if err := b.flush(); err != nil {
			return err
		}
	}
	c := metrics.Sequence{IDs: slices.Clone(s.IDs)}
	if s.Queries != nil {
		c.Queries = slices.Clone(s.Queries)
	}
	b.seqs, b.idx = append(b.seqs, c), append(b.idx, i)
	return nil
}

// flush runs the queued batch.
func (b *batcher) flush() error {
	if len(b.seqs) == 0 {
		return nil
	}
	if b.z != nil {
		b.acc.SetOnSequence(func(sc metrics.SequenceScores) {
			b.z.cur = b.idx[sc.InBatch]
			b.z.record(sc)
		})
	}
	err := b.acc.AddBatch(b.seqs)
	if err != nil {
		if len(b.seqs) == 1 {
			err = fmt.Errorf("sequence %d: %w", b.idx[0]+1, err)
		} else {
			err = fmt.Errorf("sequences %d–%d: %w", b.idx[0]+1, b.idx[len(b.idx)-1]+1, err)
		}
	}
	b.seqs, b.idx = b.seqs[:0], b.idx[:0]
	return err
}

// firstNote says which token sits at position 0 of a domain's n sequences,
// withBOS of which start with the BOS token.
func firstNote(m *Model, bos int, hasBOS bool, withBOS, n int) string {
	name := ""
	if hasBOS {
		name = m.TokenName(bos)
	}
	switch {
	case !hasBOS:
		return "a content token (no BOS token is defined)"
	case withBOS == 0:
		return fmt.Sprintf("a content token in every sequence (BOS %q, id %d, is never first)", name, bos)
	case withBOS == n:
		return fmt.Sprintf("BOS %q (id %d) in every sequence", name, bos)
	}
	return fmt.Sprintf("BOS %q (id %d) in %d of %d sequences, a content token in the rest", name, bos, withBOS, n)
}
