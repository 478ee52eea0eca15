package domains

import (
	"errors"
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

// Domain is a named, sampled set of token sequences. It holds which items
// of its source were picked, not their tokens: Each reads and encodes them
// again, one at a time, so memory does not grow with the number of
// sequences.
type Domain struct {
	Name    string
	Items   int // items in the source
	Skipped int // texts shorter than SeqLen tokens

	src   *Source
	enc   Encoder
	opt   Options
	picks []int // the source's items that give the sequences, in sampling order
}

// Sample draws up to opt.MaxSeqs sequences from src in an order shuffled by
// opt.Seed. Text items are encoded and cut to opt.SeqLen tokens (texts shorter
// than that are skipped and counted); id items are used exactly as given. It
// fails when src is empty, when every text is too short, or when an id
// sequence is too short or longer than the model's context.
func Sample(name string, src *Source, enc Encoder, opt Options) (*Domain, error) {
	d := &Domain{Name: name, Items: src.Len(), src: src, enc: enc, opt: opt}
	if src.Len() == 0 {
		return nil, fmt.Errorf("domain %q is empty: no texts or id sequences", name)
	}
	if opt.SeqLen < 2 {
		return nil, fmt.Errorf("domain %q: sequence length %d: need at least 2 tokens", name, opt.SeqLen)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed5ca1e))
	longest := 0
	err := src.Each(rng.Perm(src.Len()), func(i int, it Item) error {
		if opt.MaxSeqs > 0 && len(d.picks) == opt.MaxSeqs {
			return errStop
		}
		ids, err := d.sequence(it)
		if err != nil {
			return err
		}
		if it.IDs == nil {
			longest = max(longest, len(ids))
			if len(ids) < opt.SeqLen {
				d.Skipped++
				return nil
			}
		}
		d.picks = append(d.picks, i)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if len(d.picks) == 0 {
		return nil, fmt.Errorf("domain %q: all %d texts are shorter than %d tokens (the longest has %d); lower --seq-len or add longer texts", name, d.Skipped, opt.SeqLen, longest)
	}
	return d, nil
}

// sequence checks an id item, or encodes a text item (not yet cut).
func (d *Domain) sequence(it Item) ([]int, error) {
	if it.IDs != nil {
		switch {
		case len(it.IDs) < 2:
			return nil, fmt.Errorf("domain %q: %s: %d token ids, need at least 2", d.Name, it.Source, len(it.IDs))
		case d.opt.Context > 0 && len(it.IDs) > d.opt.Context:
			return nil, fmt.Errorf("domain %q: %s: %d token ids exceed the model's context of %d", d.Name, it.Source, len(it.IDs), d.opt.Context)
		}
		return it.IDs, nil
	}
	if d.enc == nil {
		return nil, fmt.Errorf("domain %q: %s is text but the model has no tokenizer (give token ids instead)", d.Name, it.Source)
	}
	ids, err := d.enc(it.Text)
	if err != nil {
		return nil, fmt.Errorf("domain %q: %s: %w", d.Name, it.Source, err)
	}
	return ids, nil
}

// Len is the number of sequences.
func (d *Domain) Len() int { return len(d.picks) }

// Each calls fn with each sequence in sampling order: id items as given,
// texts encoded and cut to SeqLen tokens. The items are read from the source
// and encoded again for every call of Each. fn must not keep ids.
func (d *Domain) Each(fn func(ids []int) error) error {
	return d.src.Each(d.picks, func(_ int, it Item) error {
		ids, err := d.sequence(it)
		if err != nil {
			return err
		}
		if it.IDs == nil {
			if len(ids) < d.opt.SeqLen {
				return fmt.Errorf("domain %q: %s: now %d tokens, was at least %d (did the file change since it was read?)", d.Name, it.Source, len(ids), d.opt.SeqLen)
			}
			ids = ids[:d.opt.SeqLen]
		}
		return fn(ids)
	})
}

// Seqs reads every sequence into memory: for small domains and tests.
func (d *Domain) Seqs() ([][]int, error) {
	var out [][]int
	err := d.Each(func(ids []int) error {
		out = append(out, append([]int(nil), ids...))
		return nil
	})
	return out, err
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
