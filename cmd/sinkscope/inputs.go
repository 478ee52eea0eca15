package main

import (
	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/domains"
	"github.com/sinkscope/sinkscope/tokenizer"
)

// inputFlags are the flags that choose what heads and diff feed a model.
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
	fl.StringVar(&f.ids, "ids", "", "comma-separated token ids (@FILE: read from FILE), used exactly as given, as a one-sequence domain named \"input\"")
	fl.StringVar(&f.text, "text", "", "a text, encoded under --bos, as a one-sequence domain named \"input\" (not truncated)")
	fl.StringVar(&f.bos, "bos", "auto", "BOS policy for texts: auto (prepend when the tokenizer defines one), always or never")
	fl.IntVar(&f.seqLen, "seq-len", 64, "tokens per text sequence: texts are cut to this length and shorter ones skipped (ids are used as given)")
	fl.IntVar(&f.maxSeqs, "max-seqs", 100, "sequences per domain at most (0: all; for generated Bigram-Backcopy sequences 0 means 100)")
	fl.Uint64Var(&f.seed, "seed", 1, "seed for sampling texts and for generating Bigram-Backcopy sequences")
}

// read checks the flags and reads the domains they name.
func (f *inputFlags) read() (*analysis.Sources, error) {
	in := analysis.Inputs{Text: f.text, SeqLen: f.seqLen, MaxSeqs: f.maxSeqs, Seed: f.seed}
	var err error
	if in.BOS, err = tokenizer.ParseBOSPolicy(f.bos); err != nil {
		return nil, usagef("--bos %q: want auto, always or never", f.bos)
	}
	if f.ids != "" && f.text != "" {
		return nil, usagef("give --ids or --text, not both")
	}
	if f.seqLen < 2 {
		return nil, usagef("--seq-len %d: want at least 2 tokens", f.seqLen)
	}
	if f.maxSeqs < 0 {
		return nil, usagef("--max-seqs %d: want 0 (all) or a positive number", f.maxSeqs)
	}
	for _, d := range f.domains {
		name, path, err := domains.ParseSpec(d)
		if err != nil {
			return nil, usageError{err}
		}
		in.Domains = append(in.Domains, analysis.DomainFile{Name: name, Path: path})
	}
	if f.ids != "" {
		if in.IDs, err = parseSequenceIDs(f.ids); err != nil {
			return nil, err
		}
	}
	return in.Read()
}
