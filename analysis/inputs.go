package analysis

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/sinkscope/sinkscope/domains"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/tokenizer"
)

// InputName is the name of the one-sequence domain of Inputs.IDs or
// Inputs.Text.
const InputName = "input"

// Inputs says what the analysis feeds a model.
type Inputs struct {
	// Domains are named files: a .txt file (blank-line separated texts), a
	// .jsonl file ("text" or exact "ids" per line) or a directory (one text
	// per file). With no Domains, IDs or Text, a language model gets the
	// built-in prose and code domains, and a model with domains of its own
	// (model.Domainer) those.
	Domains []DomainFile
	IDs     []int  // one sequence used exactly as given, as domain InputName
	Text    string // one text encoded under BOS and used whole, as domain InputName

	BOS     tokenizer.BOSPolicy // whether texts get the BOS token
	SeqLen  int                 // tokens per text sequence: texts are cut to this, shorter ones skipped
	MaxSeqs int                 // sequences per domain at most (0: all; a model's own domains: 100)
	Seed    uint64              // sampling order, and the seed of a model's own domains
}

// DomainFile names a file or directory of texts.
type DomainFile struct{ Name, Path string }

// Domain is one domain ready for a model: its sequences, one at a time, so
// that memory does not grow with their number.
type Domain struct {
	Name    string
	Note    string // what the domain selects, when it is a model's own
	Len     int    // sequences
	Items   int    // texts or sequences in the source
	Skipped int    // texts shorter than Inputs.SeqLen
	// Each calls fn with every sequence in order; fn must not keep it.
	Each func(fn func(metrics.Sequence) error) error
}

// Sources are Inputs read once, to be turned into each model's Domains.
type Sources struct {
	in   Inputs
	srcs []source // nil: each model's defaults
}

// source is a domain before it meets a model's tokenizer.
type source struct {
	name  string
	src   *domains.Source
	input bool // IDs or Text: one sequence, used whole
}

// Read checks the inputs and indexes every domain file once.
func (in Inputs) Read() (*Sources, error) {
	if in.IDs != nil && in.Text != "" {
		return nil, OptionError{fmt.Errorf("analysis: give IDs or Text, not both")}
	}
	if in.SeqLen < 2 {
		return nil, OptionError{fmt.Errorf("analysis: sequence length %d: want at least 2 tokens", in.SeqLen)}
	}
	if in.MaxSeqs < 0 {
		return nil, OptionError{fmt.Errorf("analysis: at most %d sequences: want 0 (all) or more", in.MaxSeqs)}
	}
	s := &Sources{in: in}
	seen := map[string]bool{}
	for _, d := range in.Domains {
		if seen[d.Name] || (d.Name == InputName && (in.IDs != nil || in.Text != "")) {
			return nil, OptionError{fmt.Errorf("analysis: domain name %q given twice", d.Name)}
		}
		seen[d.Name] = true
		src, err := domains.Open(d.Path)
		if err != nil {
			return nil, fmt.Errorf("domain %q: %w", d.Name, err)
		}
		if src.Len() == 0 {
			return nil, fmt.Errorf("domain %q is empty: %s holds no texts or id sequences", d.Name, d.Path)
		}
		s.srcs = append(s.srcs, source{name: d.Name, src: src})
	}
	switch {
	case in.IDs != nil:
		if len(in.IDs) < 2 {
			return nil, OptionError{fmt.Errorf("analysis: %d token id(s): need at least 2", len(in.IDs))}
		}
		s.srcs = append(s.srcs, source{name: InputName, src: domains.FromItems("--ids", []domains.Item{{Source: "--ids", IDs: in.IDs}}), input: true})
	case in.Text != "":
		s.srcs = append(s.srcs, source{name: InputName, src: domains.FromItems("--text", []domains.Item{{Source: "--text", Text: in.Text}}), input: true})
	}
	return s, nil
}

// Digest hashes everything besides the model that results depend on: the
// inputs (every domain's items, or the built-in domains' when none are
// given) and the options that shape them.
func (s *Sources) Digest() (string, error) {
	h := sha256.New()
	in := s.in
	loader.WriteField(h, fmt.Sprintf("bos=%v seq-len=%d max-seqs=%d seed=%d", in.BOS, in.SeqLen, in.MaxSeqs, in.Seed))
	srcs := s.srcs
	if len(srcs) == 0 {
		loader.WriteField(h, "default domains")
		var err error
		if srcs, err = builtinSources(); err != nil {
			return "", err
		}
	}
	for _, src := range srcs {
		loader.WriteField(h, fmt.Sprintf("domain %q input=%v items=%d sha256=%s", src.name, src.input, src.src.Len(), src.src.Digest()))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// builtinSources are the built-in domains, for a language model given no
// inputs.
func builtinSources() ([]source, error) {
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

// For turns the sources (or, with none, the model's defaults) into the
// domains of m: texts through its tokenizer under the BOS policy, cut to
// SeqLen; for a model with domains of its own (model.Domainer) and no
// sources, those, MaxSeqs (100 when 0) sequences each from Seed.
func (s *Sources) For(m *Model) ([]Domain, error) {
	in := s.in
	info := m.Info()
	srcs := s.srcs
	if len(srcs) == 0 {
		if dm, ok := m.Model.(model.Domainer); ok {
			return ownDomains(dm, in), nil
		}
		var err error
		if srcs, err = builtinSources(); err != nil {
			return nil, err
		}
	}
	var enc domains.Encoder
	if m.Tokenizer != nil {
		enc = func(text string) ([]int, error) { return m.Tokenizer.EncodeBOS(text, in.BOS) }
	}
	needText := false
	for _, src := range srcs {
		needText = needText || (src.src.Texts() > 0 && !src.input)
	}
	if needText && info.MaxSeqLen > 0 && in.SeqLen > info.MaxSeqLen {
		return nil, OptionError{fmt.Errorf("--seq-len %d exceeds the context of %s (max_position_embeddings %d)", in.SeqLen, m.Label, info.MaxSeqLen)}
	}
	var out []Domain
	for _, src := range srcs {
		opt := domains.Options{MaxSeqs: in.MaxSeqs, SeqLen: in.SeqLen, Seed: in.Seed, Context: info.MaxSeqLen}
		if src.input && src.src.Texts() > 0 {
			if enc == nil {
				return nil, fmt.Errorf("%s has no tokenizer: use --ids instead of --text", m.Label)
			}
			ids, err := enc(in.Text)
			if err != nil {
				return nil, fmt.Errorf("--text: %w", err)
			}
			if len(ids) < 2 {
				return nil, fmt.Errorf("--text %q encodes to %d token(s); need at least 2", in.Text, len(ids))
			}
			src.src = domains.FromItems("--text", []domains.Item{{Source: "--text", IDs: ids}})
		}
		d, err := domains.Sample(src.name, src.src, enc, opt)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Label, err)
		}
		out = append(out, Domain{
			Name: src.name,
			Len:  d.Len(),
			Each: func(fn func(metrics.Sequence) error) error {
				return d.Each(func(ids []int) error { return fn(metrics.Sequence{IDs: ids}) })
			},
			Items:   d.Items,
			Skipped: d.Skipped,
		})
	}
	return out, nil
}

// ownDomains are a model's own default domains.
func ownDomains(dm model.Domainer, in Inputs) []Domain {
	n := in.MaxSeqs
	if n == 0 {
		n = 100
	}
	var out []Domain
	for _, d := range dm.Domains(n, in.Seed) {
		each := d.Each
		out = append(out, Domain{
			Name: d.Name, Note: d.Note, Len: d.Len, Items: d.Len,
			Each: func(fn func(metrics.Sequence) error) error {
				return each(func(ids []int, q []bool) error { return fn(metrics.Sequence{IDs: ids, Queries: q}) })
			},
		})
	}
	return out
}
