package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/domains"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/tokenizer"
)

// inputFlags are the flags that choose what `heads` feeds a model.
type inputFlags struct {
	domains []string // NAME=PATH
	ids     string
	text    string
	bos     string
	seqLen  int
	maxSeqs int
	seed    uint64
}

func (f *inputFlags) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringArrayVar(&f.domains, "domain", nil, "a domain NAME=PATH: a .txt file (blank-line separated texts), a .jsonl file (\"text\" or exact \"ids\" per line) or a directory (one text per file); repeatable")
	fl.StringVar(&f.ids, "ids", "", "comma-separated token ids, used exactly as given, as a one-sequence domain named \"input\"")
	fl.StringVar(&f.text, "text", "", "a text, encoded under --bos, as a one-sequence domain named \"input\" (not truncated)")
	fl.StringVar(&f.bos, "bos", "auto", "BOS policy for texts: auto (prepend when the tokenizer defines one), always or never")
	fl.IntVar(&f.seqLen, "seq-len", 64, "tokens per text sequence: texts are cut to this length and shorter ones skipped (ids are used as given)")
	fl.IntVar(&f.maxSeqs, "max-seqs", 100, "sequences per domain at most (0: all; for generated Bigram-Backcopy sequences 0 means 100)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for sampling texts and for generating Bigram-Backcopy sequences")
}

// check validates the flags alone (usage errors).
func (f *inputFlags) check() (tokenizer.BOSPolicy, error) {
	bos, err := tokenizer.ParseBOSPolicy(f.bos)
	if err != nil {
		return 0, usagef("--bos %q: want auto, always or never", f.bos)
	}
	if f.ids != "" && f.text != "" {
		return 0, usagef("give --ids or --text, not both")
	}
	if f.seqLen < 2 {
		return 0, usagef("--seq-len %d: want at least 2 tokens", f.seqLen)
	}
	if f.maxSeqs < 0 {
		return 0, usagef("--max-seqs %d: want 0 (all) or a positive number", f.maxSeqs)
	}
	seen := map[string]bool{}
	for _, d := range f.domains {
		name, _, err := domains.ParseSpec(d)
		if err != nil {
			return 0, usageError{err}
		}
		if seen[name] || (name == "input" && (f.ids != "" || f.text != "")) {
			return 0, usagef("--domain %q: domain name %q given twice", d, name)
		}
		seen[name] = true
	}
	return bos, nil
}

// source is a domain before it meets a model's tokenizer.
type source struct {
	name  string
	src   *domains.Source
	input bool // --ids/--text: one sequence, used whole
}

// readSources indexes every --domain file, and takes --ids/--text, once.
// With none of them it returns nil: each model then gets its default
// domains.
func (f *inputFlags) readSources() ([]source, error) {
	var out []source
	for _, d := range f.domains {
		name, path, _ := domains.ParseSpec(d)
		src, err := domains.Open(path)
		if err != nil {
			return nil, fmt.Errorf("domain %q: %w", name, err)
		}
		if src.Len() == 0 {
			return nil, fmt.Errorf("domain %q is empty: %s holds no texts or id sequences", name, path)
		}
		out = append(out, source{name: name, src: src})
	}
	switch {
	case f.ids != "":
		ids, err := parseSequenceIDs(f.ids)
		if err != nil {
			return nil, err
		}
		out = append(out, source{name: "input", src: domains.FromItems("--ids", []domains.Item{{Source: "--ids", IDs: ids}}), input: true})
	case f.text != "":
		out = append(out, source{name: "input", src: domains.FromItems("--text", []domains.Item{{Source: "--text", Text: f.text}}), input: true})
	}
	return out, nil
}

// defaultSources are the built-in domains, for a language model given no
// inputs.
func defaultSources() ([]source, error) {
	var out []source
	for _, name := range domains.Builtins() {
		src, err := domains.Builtin(name)
		if err != nil {
			return nil, err
		}
		out = append(out, source{name: name, src: src})
	}
	return out, nil
}

// domainSet is one domain ready for a model: a count of sequences and a way
// to run through them, one at a time, so that memory does not grow with
// their number.
type domainSet struct {
	name    string
	n       int                                         // sequences
	each    func(fn func(metrics.Sequence) error) error // calls fn with every sequence; fn must not keep it
	items   int                                         // texts or sequences in the source
	skipped int                                         // texts shorter than --seq-len
	note    string
}

// modelDomains turns the sources (or, with none, the model's defaults) into
// sequences for one model: texts through its tokenizer under the BOS policy;
// for a Bigram-Backcopy model without sources, generated sequences split into
// the "trigger" and "non-trigger" domains by the query's input token.
func (f *inputFlags) modelDomains(m model.Model, label string, tok *tokenizer.Tokenizer, bos tokenizer.BOSPolicy, srcs []source) ([]domainSet, error) {
	info := m.Info()
	if len(srcs) == 0 {
		if toy, ok := m.(*bbtoy.Model); ok {
			return f.toyDomains(toy), nil
		}
		var err error
		if srcs, err = defaultSources(); err != nil {
			return nil, err
		}
	}
	var enc domains.Encoder
	if tok != nil {
		enc = func(text string) ([]int, error) { return tok.EncodeBOS(text, bos) }
	}
	needText := false
	for _, s := range srcs {
		needText = needText || (s.src.Texts() > 0 && !s.input)
	}
	if needText && info.MaxSeqLen > 0 && f.seqLen > info.MaxSeqLen {
		return nil, usagef("--seq-len %d exceeds the context of %s (max_position_embeddings %d)", f.seqLen, label, info.MaxSeqLen)
	}
	var out []domainSet
	for _, s := range srcs {
		opt := domains.Options{MaxSeqs: f.maxSeqs, SeqLen: f.seqLen, Seed: f.seed, Context: info.MaxSeqLen}
		if s.input && s.src.Texts() > 0 {
			if enc == nil {
				return nil, fmt.Errorf("%s has no tokenizer: use --ids instead of --text", label)
			}
			ids, err := enc(f.text)
			if err != nil {
				return nil, fmt.Errorf("--text: %w", err)
			}
			if len(ids) < 2 {
				return nil, fmt.Errorf("--text %q encodes to %d token(s); need at least 2", f.text, len(ids))
			}
			s.src = domains.FromItems("--text", []domains.Item{{Source: "--text", IDs: ids}})
		}
		d, err := domains.Sample(s.name, s.src, enc, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", label, err)
		}
		out = append(out, domainSet{
			name: s.name,
			n:    d.Len(),
			each: func(fn func(metrics.Sequence) error) error {
				return d.Each(func(ids []int) error { return fn(metrics.Sequence{IDs: ids}) })
			},
			items:   d.Items,
			skipped: d.Skipped,
		})
	}
	return out, nil
}

// toyDomains generates --max-seqs Bigram-Backcopy sequences (100 when 0) from
// --seed and splits their queries by input token: triggers (whose next token
// is a copy) and the rest (whose next token is a bigram draw). Each domain
// generates the same sequences again, one at a time.
func (f *inputFlags) toyDomains(toy *bbtoy.Model) []domainSet {
	task := toy.Task()
	n := f.maxSeqs
	if n == 0 {
		n = 100
	}
	each := func(trigger bool) func(fn func(metrics.Sequence) error) error {
		return func(fn func(metrics.Sequence) error) error {
			rng := rand.New(rand.NewPCG(f.seed, 0xb1b0))
			ids := make([]int, task.SeqLen())
			q := make([]bool, task.SeqLen())
			for range n {
				task.Sample(rng, ids)
				for i, id := range ids {
					q[i] = task.IsTrigger(id) == trigger && id != task.BOS()
				}
				if err := fn(metrics.Sequence{IDs: ids, Queries: q}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return []domainSet{
		{name: "trigger", n: n, each: each(true), items: n, note: "queries at trigger tokens"},
		{name: "non-trigger", n: n, each: each(false), items: n, note: "queries at non-trigger tokens"},
	}
}
