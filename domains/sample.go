package domains

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Encoder turns a text into token ids, BOS policy included.
type Encoder func(text string) ([]int, error)

// Options says how to turn items into sequences.
type Options struct {
	MaxSeqs int    // at most this many sequences (0: all)
	SeqLen  int    // text sequences are cut to this many tokens; shorter texts are skipped
	Seed    uint64 // sampling order
	Context int    // the model's context length; longer id sequences are an error (0: unbounded)
}

// Domain is a named set of token sequences ready for analysis.
type Domain struct {
	Name    string
	Seqs    [][]int // token ids, position 0 first
	Items   int     // items in the source
	Skipped int     // texts shorter than SeqLen tokens
}

// Sample draws up to opt.MaxSeqs sequences from items in an order shuffled by
// opt.Seed. Text items are encoded and cut to opt.SeqLen tokens (texts shorter
// than that are skipped and counted); id items are used exactly as given. It
// fails when items is empty, when every text is too short, or when an id
// sequence is too short or longer than the model's context.
func Sample(name string, items []Item, enc Encoder, opt Options) (*Domain, error) {
	d := &Domain{Name: name, Items: len(items)}
	if len(items) == 0 {
		return nil, fmt.Errorf("domain %q is empty: no texts or id sequences", name)
	}
	if opt.SeqLen < 2 {
		return nil, fmt.Errorf("domain %q: sequence length %d: need at least 2 tokens", name, opt.SeqLen)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed5ca1e))
	longest := 0
	for _, i := range rng.Perm(len(items)) {
		if opt.MaxSeqs > 0 && len(d.Seqs) == opt.MaxSeqs {
			break
		}
		it := items[i]
		if it.IDs != nil {
			switch {
			case len(it.IDs) < 2:
				return nil, fmt.Errorf("domain %q: %s: %d token ids, need at least 2", name, it.Source, len(it.IDs))
			case opt.Context > 0 && len(it.IDs) > opt.Context:
				return nil, fmt.Errorf("domain %q: %s: %d token ids exceed the model's context of %d", name, it.Source, len(it.IDs), opt.Context)
			}
			d.Seqs = append(d.Seqs, it.IDs)
			continue
		}
		if enc == nil {
			return nil, fmt.Errorf("domain %q: %s is text but the model has no tokenizer (give token ids instead)", name, it.Source)
		}
		ids, err := enc(it.Text)
		if err != nil {
			return nil, fmt.Errorf("domain %q: %s: %w", name, it.Source, err)
		}
		longest = max(longest, len(ids))
		if len(ids) < opt.SeqLen {
			d.Skipped++
			continue
		}
		d.Seqs = append(d.Seqs, append([]int(nil), ids[:opt.SeqLen]...)) // a copy: do not pin a long text's ids
	}
	if len(d.Seqs) == 0 {
		return nil, fmt.Errorf("domain %q: all %d texts are shorter than %d tokens (the longest has %d); lower --seq-len or add longer texts", name, d.Skipped, opt.SeqLen, longest)
	}
	return d, nil
}

// ParseSpec splits a --domain value "NAME=PATH".
func ParseSpec(s string) (name, path string, err error) {
	name, path, ok := strings.Cut(s, "=")
	name, path = strings.TrimSpace(name), strings.TrimSpace(path)
	if !ok || name == "" || path == "" {
		return "", "", fmt.Errorf("--domain %q: want NAME=PATH", s)
	}
	return name, path, nil
}
