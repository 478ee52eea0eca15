package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
)

// A preTokenizer splits a normalized piece into words. first reports whether
// the piece starts the input (for Metaspace's "first" prepend scheme).
type preTokenizer interface {
	split(dst []string, s string, first bool) []string
}

type preTokenizerSeq []preTokenizer

func (p preTokenizerSeq) split(dst []string, s string, first bool) []string {
	cur := []string{s}
	for _, x := range p {
		var next []string
		for i, w := range cur {
			next = x.split(next, w, first && i == 0)
		}
		cur = next
	}
	return append(dst, cur...)
}

// splitBehavior says what happens to the delimiters (the matches).
type splitBehavior int

const (
	splitRemoved splitBehavior = iota
	splitIsolated
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

func parseSplitBehavior(s string) (splitBehavior, bool) {
	switch s {
	case "Removed":
		return splitRemoved, true
	case "Isolated":
		return splitIsolated, true
	case "MergedWithPrevious":
		return splitMergedWithPrevious, true
	case "MergedWithNext":
		return splitMergedWithNext, true
	case "Contiguous":
		return splitContiguous, true
	}
	return 0, false
}

// splitPre is Hugging Face's Split pre-tokenizer.
type splitPre struct {
	m        matcher
	behavior splitBehavior
	invert   bool
}

type part struct {
	start, end int
	match      bool
}

// parts covers s with the matches of m and the gaps between them.
func parts(m matcher, s string, invert bool) []part {
	if s == "" {
		return nil
	}
	var ps []part
	prev := 0
	for _, x := range m.find(s, nil) {
		if x[0] > prev {
			ps = append(ps, part{prev, x[0], invert})
		}
		ps = append(ps, part{x[0], x[1], !invert})
		prev = x[1]
	}
	if prev < len(s) {
		ps = append(ps, part{prev, len(s), invert})
	}
	return ps
}

func (p splitPre) split(dst []string, s string, _ bool) []string {
	return splitBy(dst, s, parts(p.m, s, p.invert), p.behavior)
}

// splitBy applies a delimiter behavior to parts, dropping empty pieces.
func splitBy(dst []string, s string, ps []part, b splitBehavior) []string {
	type keep struct{ start, end int }
	var out []keep
	switch b {
	case splitIsolated:
		for _, p := range ps {
			out = append(out, keep{p.start, p.end})
		}
	case splitRemoved:
		for _, p := range ps {
			if !p.match {
				out = append(out, keep{p.start, p.end})
			}
		}
	case splitContiguous:
		prevMatch := false
		for i, p := range ps {
			if i > 0 && p.match == prevMatch {
				out[len(out)-1].end = p.end
			} else {
				out = append(out, keep{p.start, p.end})
			}
			prevMatch = p.match
		}
	case splitMergedWithPrevious:
		prevMatch := false
		for _, p := range ps {
			if p.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].end = p.end
			} else {
				out = append(out, keep{p.start, p.end})
			}
			prevMatch = p.match
		}
	case splitMergedWithNext:
		prevMatch := false
		for i := len(ps) - 1; i >= 0; i-- {
			p := ps[i]
			if p.match && !prevMatch && len(out) > 0 {
				out[len(out)-1].start = p.start
			} else {
				out = append(out, keep{p.start, p.end})
			}
			prevMatch = p.match
		}
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	for _, k := range out {
		if k.end > k.start {
			dst = append(dst, s[k.start:k.end])
		}
	}
	return dst
}

// byteLevelPre is the ByteLevel pre-tokenizer: optional prefix space,
// optional GPT-2 regex split, then every byte mapped to its alphabet rune.
type byteLevelPre struct {
	addPrefixSpace bool
	re             matcher // nil: use_regex false
	alphabet       *byteLevelAlphabet
}

func (p byteLevelPre) split(dst []string, s string, _ bool) []string {
	if p.addPrefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	n := len(dst)
	if p.re != nil {
		dst = splitBy(dst, s, parts(p.re, s, false), splitIsolated)
	} else if s != "" {
		dst = append(dst, s)
	}
	for i := n; i < len(dst); i++ {
		dst[i] = p.alphabet.encode(dst[i])
	}
	return dst
}

// metaspacePre replaces spaces with a meta symbol (▁), prepends one by its
// prepend scheme and optionally splits before each meta symbol.
type metaspacePre struct {
	replacement string
	prepend     string // "always", "first" or "never"
	splitOn     bool   // split before each meta symbol
}

func (p metaspacePre) split(dst []string, s string, first bool) []string {
	s = strings.ReplaceAll(s, " ", p.replacement)
	if !strings.HasPrefix(s, p.replacement) && (p.prepend == "always" || p.prepend == "first" && first) {
		s = p.replacement + s
	}
	if !p.splitOn {
		if s != "" {
			dst = append(dst, s)
		}
		return dst
	}
	return splitBy(dst, s, parts(literalMatcher(p.replacement), s, false), splitMergedWithNext)
}

// literalMatcher matches every occurrence of a fixed string.
type literalMatcher string

func (l literalMatcher) find(s string, dst [][2]int) [][2]int {
	if l == "" {
		return dst
	}
	for i := 0; ; {
		k := strings.Index(s[i:], string(l))
		if k < 0 {
			return dst
		}
		dst = append(dst, [2]int{i + k, i + k + len(l)})
		i += k + len(l)
	}
}

// digitsPre splits digits from the rest (individual_digits: one per digit).
type digitsPre struct{ individual bool }

func (p digitsPre) split(dst []string, s string, _ bool) []string {
	var ps []part
	for i := 0; i < len(s); {
		r, w := runeAt(s, i)
		isDigit := isN(r) // Rust char::is_numeric: Nd, Nl, No
		if isDigit && !p.individual && len(ps) > 0 && ps[len(ps)-1].match && ps[len(ps)-1].end == i {
			ps[len(ps)-1].end = i + w
		} else if !isDigit && len(ps) > 0 && !ps[len(ps)-1].match {
			ps[len(ps)-1].end = i + w
		} else {
			ps = append(ps, part{i, i + w, isDigit})
		}
		i += w
	}
	if p.individual {
		return splitBy(dst, s, ps, splitIsolated)
	}
	return splitBy(dst, s, ps, splitContiguous)
}

// whitespaceSplitPre splits on whitespace, dropping it.
type whitespaceSplitPre struct{}

func (whitespaceSplitPre) split(dst []string, s string, _ bool) []string {
	return append(dst, strings.FieldsFunc(s, isS)...)
}

func parsePreTokenizer(raw json.RawMessage, field string, alphabet *byteLevelAlphabet) (preTokenizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var h struct {
		Type           string            `json:"type"`
		Pretokenizers  []json.RawMessage `json:"pretokenizers"`
		Pattern        patternJSON       `json:"pattern"`
		Behavior       string            `json:"behavior"`
		Invert         bool              `json:"invert"`
		AddPrefixSpace *bool             `json:"add_prefix_space"`
		UseRegex       *bool             `json:"use_regex"`
		Replacement    string            `json:"replacement"`
		PrependScheme  *string           `json:"prepend_scheme"`
		Split          *bool             `json:"split"`
		Individual     bool              `json:"individual_digits"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	switch h.Type {
	case "Sequence":
		var seq preTokenizerSeq
		for i, r := range h.Pretokenizers {
			p, err := parsePreTokenizer(r, fmt.Sprintf("%s.pretokenizers[%d]", field, i), alphabet)
			if err != nil {
				return nil, err
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		return seq, nil
	case "Split":
		b, ok := parseSplitBehavior(h.Behavior)
		if !ok {
			return nil, fmt.Errorf("%s.behavior: unknown split behavior %q", field, h.Behavior)
		}
		var m matcher
		if lit, ok := h.Pattern.literal(); ok {
			m = literalMatcher(lit)
		} else if h.Pattern.Regex != nil {
			var err error
			if m, err = newRegexMatcher(*h.Pattern.Regex); err != nil {
				return nil, fmt.Errorf("%s.pattern: %w", field, err)
			}
		} else {
			return nil, fmt.Errorf("%s.pattern: want String or Regex", field)
		}
		return splitPre{m: m, behavior: b, invert: h.Invert}, nil
	case "ByteLevel":
		p := byteLevelPre{addPrefixSpace: h.AddPrefixSpace == nil || *h.AddPrefixSpace, alphabet: alphabet}
		if h.UseRegex == nil || *h.UseRegex {
			p.re, _ = newRegexMatcher(gpt2Pattern)
		}
		return p, nil
	case "Metaspace":
		r := []rune(h.Replacement)
		if len(r) != 1 {
			return nil, fmt.Errorf("%s.replacement: want one character, got %q", field, h.Replacement)
		}
		p := metaspacePre{replacement: h.Replacement, prepend: "always", splitOn: h.Split == nil || *h.Split}
		if h.PrependScheme != nil {
			p.prepend = *h.PrependScheme
		}
		if h.AddPrefixSpace != nil && !*h.AddPrefixSpace {
			p.prepend = "never"
		}
		if p.prepend != "always" && p.prepend != "first" && p.prepend != "never" {
			return nil, fmt.Errorf("%s.prepend_scheme: unknown scheme %q", field, p.prepend)
		}
		return p, nil
	case "Digits":
		return digitsPre{individual: h.Individual}, nil
	case "WhitespaceSplit":
		return whitespaceSplitPre{}, nil
	}
	return nil, fmt.Errorf("%s.type: unsupported pre-tokenizer %q (supported: Sequence, Split, ByteLevel, Metaspace, Digits, WhitespaceSplit)", field, h.Type)
}
