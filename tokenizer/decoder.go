package tokenizer

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A decoder turns token strings back into text, one stage of Hugging Face's
// decode_chain; the final strings are concatenated.
type decoder interface {
	decodeChain(tokens []string) []string
}

type decoderSeq []decoder

func (d decoderSeq) decodeChain(tokens []string) []string {
	for _, x := range d {
		tokens = x.decodeChain(tokens)
	}
	return tokens
}

type byteLevelDec struct{ alphabet *byteLevelAlphabet }

func (d byteLevelDec) decodeChain(tokens []string) []string {
	var b []byte
	for _, t := range tokens {
		b = d.alphabet.decodeToken(b, t)
	}
	return []string{lossyUTF8(b)}
}

type replaceDec struct{ r replaceNormalizer }

func (d replaceDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = d.r.normalize(t)
	}
	return out
}

// byteFallbackDec turns runs of <0xNN> tokens back into bytes: a run that is
// valid UTF-8 becomes its text, otherwise one U+FFFD per byte.
type byteFallbackDec struct{}

func byteToken(t string) (byte, bool) {
	if len(t) != 6 || !strings.HasPrefix(t, "<0x") || t[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(t[3:5], 16, 8)
	return byte(v), err == nil
}

func (byteFallbackDec) decodeChain(tokens []string) []string {
	out := make([]string, 0, len(tokens))
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		if utf8.Valid(run) {
			out = append(out, string(run))
		} else {
			for range run {
				out = append(out, "\uFFFD")
			}
		}
		run = run[:0]
	}
	for _, t := range tokens {
		if b, ok := byteToken(t); ok {
			run = append(run, b)
			continue
		}
		flush()
		out = append(out, t)
	}
	flush()
	return out
}

type fuseDec struct{}

func (fuseDec) decodeChain(tokens []string) []string { return []string{strings.Join(tokens, "")} }

// stripDec removes up to start leading and stop trailing content runes of
// every token.
type stripDec struct {
	content     rune
	start, stop int
}

func (d stripDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		r := []rune(t)
		lo := 0
		for lo < d.start && lo < len(r) && r[lo] == d.content {
			lo++
		}
		hi := len(r)
		for k := 0; k < d.stop && hi > lo && r[hi-1] == d.content; k++ {
			hi--
		}
		out[i] = string(r[lo:hi])
	}
	return out
}

// metaspaceDec turns the meta symbol back into spaces; in the first token it
// is dropped unless the prepend scheme is "never".
type metaspaceDec struct {
	replacement rune
	never       bool
}

func (d metaspaceDec) decodeChain(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		var sb strings.Builder
		for _, c := range t {
			switch {
			case c != d.replacement:
				sb.WriteRune(c)
			case i == 0 && !d.never:
			default:
				sb.WriteByte(' ')
			}
		}
		out[i] = sb.String()
	}
	return out
}

func parseDecoder(raw json.RawMessage, field string, alphabet *byteLevelAlphabet) (decoder, error) {
	if isNull(raw) {
		return nil, nil
	}
	var h struct {
		Type           string            `json:"type"`
		Decoders       []json.RawMessage `json:"decoders"`
		Pattern        patternJSON       `json:"pattern"`
		Content        json.RawMessage   `json:"content"`
		Start          int               `json:"start"`
		Stop           int               `json:"stop"`
		Replacement    string            `json:"replacement"`
		PrependScheme  *string           `json:"prepend_scheme"`
		AddPrefixSpace *bool             `json:"add_prefix_space"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	var content string
	if len(h.Content) > 0 {
		if err := json.Unmarshal(h.Content, &content); err != nil {
			return nil, fmt.Errorf("%s.content: %w", field, err)
		}
	}
	switch h.Type {
	case "Sequence":
		var seq decoderSeq
		for i, r := range h.Decoders {
			d, err := parseDecoder(r, fmt.Sprintf("%s.decoders[%d]", field, i), alphabet)
			if err != nil {
				return nil, err
			}
			if d != nil {
				seq = append(seq, d)
			}
		}
		return seq, nil
	case "ByteLevel":
		return byteLevelDec{alphabet}, nil
	case "Replace":
		if lit, ok := h.Pattern.literal(); ok {
			return replaceDec{replaceNormalizer{literal: lit, content: content}}, nil
		}
		if h.Pattern.Regex == nil {
			return nil, fmt.Errorf("%s.pattern: want String or Regex", field)
		}
		m, err := newRegexMatcher(*h.Pattern.Regex)
		if err != nil {
			return nil, fmt.Errorf("%s.pattern: %w", field, err)
		}
		return replaceDec{replaceNormalizer{re: m, content: content}}, nil
	case "ByteFallback":
		return byteFallbackDec{}, nil
	case "Fuse":
		return fuseDec{}, nil
	case "Strip":
		r := []rune(content)
		if len(r) != 1 {
			return nil, fmt.Errorf("%s.content: want one character, got %q", field, content)
		}
		if h.Start < 0 || h.Stop < 0 {
			return nil, fmt.Errorf("%s: negative start/stop", field)
		}
		return stripDec{content: r[0], start: h.Start, stop: h.Stop}, nil
	case "Metaspace":
		r := []rune(h.Replacement)
		if len(r) != 1 {
			return nil, fmt.Errorf("%s.replacement: want one character, got %q", field, h.Replacement)
		}
		never := h.PrependScheme != nil && *h.PrependScheme == "never" || h.AddPrefixSpace != nil && !*h.AddPrefixSpace
		return metaspaceDec{replacement: r[0], never: never}, nil
	}
	return nil, fmt.Errorf("%s.type: unsupported decoder %q (supported: Sequence, ByteLevel, Replace, ByteFallback, Fuse, Strip, Metaspace)", field, h.Type)
}
