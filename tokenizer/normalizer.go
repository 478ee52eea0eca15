package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// A normalizer rewrites a piece of input text before pre-tokenization.
type normalizer interface {
	normalize(s string) string
}

type normalizerSeq []normalizer

func (n normalizerSeq) normalize(s string) string {
	for _, x := range n {
		s = x.normalize(s)
	}
	return s
}

// prependNormalizer prepends a string to every non-empty piece.
type prependNormalizer string

func (p prependNormalizer) normalize(s string) string {
	if s == "" {
		return s
	}
	return string(p) + s
}

// replaceNormalizer replaces every match of a literal or regex pattern.
type replaceNormalizer struct {
	literal string
	re      matcher // nil: literal
	content string
}

func (r replaceNormalizer) normalize(s string) string {
	if r.re == nil {
		if r.literal == "" {
			return s
		}
		return strings.ReplaceAll(s, r.literal, r.content)
	}
	var sb strings.Builder
	prev := 0
	for _, m := range r.re.find(s, nil) {
		sb.WriteString(s[prev:m[0]])
		sb.WriteString(r.content)
		prev = m[1]
	}
	sb.WriteString(s[prev:])
	return sb.String()
}

type unicodeNormalizer struct{ form norm.Form }

func (u unicodeNormalizer) normalize(s string) string { return u.form.String(s) }

type lowercaseNormalizer struct{}

func (lowercaseNormalizer) normalize(s string) string { return strings.ToLower(s) }

// patternJSON is a Split/Replace pattern: {"String": s} or {"Regex": re}.
type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

func (p patternJSON) literal() (string, bool) {
	if p.String != nil {
		return *p.String, true
	}
	return "", false
}

// parseNormalizer builds a normalizer from tokenizer.json; field names the
// JSON path for errors. A null normalizer is nil.
func parseNormalizer(raw json.RawMessage, field string) (normalizer, error) {
	if isNull(raw) {
		return nil, nil
	}
	var h struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
		Prepend     string            `json:"prepend"`
		Pattern     patternJSON       `json:"pattern"`
		Content     string            `json:"content"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	switch h.Type {
	case "Sequence":
		var seq normalizerSeq
		for i, r := range h.Normalizers {
			n, err := parseNormalizer(r, fmt.Sprintf("%s.normalizers[%d]", field, i))
			if err != nil {
				return nil, err
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	case "Prepend":
		return prependNormalizer(h.Prepend), nil
	case "Replace":
		if lit, ok := h.Pattern.literal(); ok {
			return replaceNormalizer{literal: lit, content: h.Content}, nil
		}
		if h.Pattern.Regex == nil {
			return nil, fmt.Errorf("%s.pattern: want String or Regex", field)
		}
		m, err := newRegexMatcher(*h.Pattern.Regex)
		if err != nil {
			return nil, fmt.Errorf("%s.pattern: %w", field, err)
		}
		return replaceNormalizer{re: m, content: h.Content}, nil
	case "NFC":
		return unicodeNormalizer{norm.NFC}, nil
	case "NFD":
		return unicodeNormalizer{norm.NFD}, nil
	case "NFKC":
		return unicodeNormalizer{norm.NFKC}, nil
	case "NFKD":
		return unicodeNormalizer{norm.NFKD}, nil
	case "Lowercase":
		return lowercaseNormalizer{}, nil
	}
	return nil, fmt.Errorf("%s.type: unsupported normalizer %q (supported: Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase)", field, h.Type)
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}
