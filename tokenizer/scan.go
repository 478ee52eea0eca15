package tokenizer

import (
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// A matcher finds the non-overlapping, leftmost-first matches of a pattern,
// as byte offsets [start, end) in order.
type matcher interface {
	find(s string, dst [][2]int) [][2]int
}

// The regular expressions that byte-level BPE tokenizers use. Go's regexp
// package cannot run them (they need a lookahead), so they get hand-written
// scanners with the same backtracking semantics as Oniguruma, which Hugging
// Face tokenizers uses; any other pattern goes through regexp2. regexp2 is
// not Oniguruma in every detail: its (?i) does not fold ſ (U+017F) to s, so
// the scanners are also the more faithful of the two.
const (
	// gpt2Pattern is GPT-2's pre-tokenizer regex (ByteLevel use_regex, GPT-NeoX, OLMo 1).
	gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// cl100kPattern is the cl100k-style regex of Llama 3 and OLMo 2.
	cl100kPattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// qwen2Pattern is Qwen2's (Qwen2, Qwen2.5, Qwen3): cl100k's with one
	// digit per match instead of up to three.
	qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// newRegexMatcher returns the fastest matcher for a tokenizer.json regex.
func newRegexMatcher(pattern string) (matcher, error) {
	switch pattern {
	case gpt2Pattern:
		return scanMatcher(gpt2At), nil
	case cl100kPattern:
		return scanMatcher(cl100kAt), nil
	case qwen2Pattern:
		return scanMatcher(qwen2At), nil
	}
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("regex %q: %w", pattern, err)
	}
	re.MatchTimeout = MatchTimeout
	return regexp2Matcher{re}, nil
}

// MatchTimeout bounds one match of a tokenizer.json regex that has no
// hand-written scanner. A checkpoint is untrusted input: a pattern that
// backtracks catastrophically (such as (a+)+$ on a long run of a's) must
// not hang the tool. Real pre-tokenizer patterns match a word at a time, in
// microseconds.
const MatchTimeout = time.Second

// timeoutError is a regex match stopped by MatchTimeout; regexp2Matcher.find
// panics with it, and EncodeChecked turns it into an error.
type timeoutError struct {
	pattern string
	at      int // byte offset in the text of the match that timed out
	err     error
}

func (e timeoutError) Error() string {
	return fmt.Sprintf("regex %.60q: the match after byte %d of the text ran past the %v match timeout (a pattern that backtracks catastrophically); this tokenizer.json cannot encode the text",
		e.pattern, e.at, MatchTimeout)
}

func (e timeoutError) Unwrap() error { return e.err }

// scanMatcher adapts a function that returns the end of the match starting
// at byte i (or -1) to a matcher.
type scanMatcher func(s string, i int) int

func (m scanMatcher) find(s string, dst [][2]int) [][2]int {
	for i := 0; i < len(s); {
		if e := m(s, i); e > i {
			dst = append(dst, [2]int{i, e})
			i = e
			continue
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return dst
}

// Character classes of the patterns, as Oniguruma defines them for UTF-8:
// \s is White_Space, \p{L} and \p{N} the general categories. Invalid UTF-8
// decodes to U+FFFD, which is in none of them.
func isL(r rune) bool {
	if r < utf8.RuneSelf {
		return r|0x20 >= 'a' && r|0x20 <= 'z'
	}
	return unicode.IsLetter(r)
}
func isN(r rune) bool { return r >= '0' && r <= '9' || r >= utf8.RuneSelf && unicode.IsNumber(r) }
func isS(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || r >= '\t' && r <= '\r'
	}
	return unicode.IsSpace(r)
}
func isOther(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }
func isCRLF(r rune) bool  { return r == '\r' || r == '\n' }

func runeAt(s string, i int) (rune, int) {
	if i >= len(s) {
		return -1, 0
	}
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// span consumes runes of class f from i and returns the end and the count.
func span(s string, i int, f func(rune) bool) (end, n int) {
	for i < len(s) {
		r, w := runeAt(s, i)
		if !f(r) {
			break
		}
		i += w
		n++
	}
	return i, n
}

// contraction matches 's 't 're 've 'm 'll 'd at i; fold makes the letters
// case-insensitive under Unicode simple case folding (ſ folds to s).
func contraction(s string, i int, fold bool) int {
	if i >= len(s) || s[i] != '\'' {
		return -1
	}
	j := i + 1
	eq := func(j int, c byte) (int, bool) {
		r, w := runeAt(s, j)
		if r == rune(c) || fold && (r == rune(c)-'a'+'A' || c == 's' && r == 'ſ') {
			return j + w, true
		}
		return j, false
	}
	for _, alt := range [...]string{"s", "t", "re", "ve", "m", "ll", "d"} {
		k, ok := j, true
		for x := 0; x < len(alt) && ok; x++ {
			k, ok = eq(k, alt[x])
		}
		if ok {
			return k
		}
	}
	return -1
}

// wsTail implements `\s*[\r\n]+` (when crlf) and then `\s+(?!\S)|\s+` at i.
func wsTail(s string, i int, crlf bool) int {
	end, n := span(s, i, isS)
	if n == 0 {
		return -1
	}
	if crlf {
		// Greedy \s* backs off to the last CR/LF of the run.
		last := -1
		for j := i; j < end; {
			r, w := runeAt(s, j)
			if isCRLF(r) {
				last = j + w
			}
			j += w
		}
		if last >= 0 {
			return last
		}
	}
	if end == len(s) || n == 1 {
		return end // \s+(?!\S) at the end of text, or \s+ for a single space
	}
	// \s+(?!\S): give back the last whitespace rune.
	_, w := utf8.DecodeLastRuneInString(s[i:end])
	return end - w
}

// gpt2At matches gpt2Pattern at i.
func gpt2At(s string, i int) int {
	if e := contraction(s, i, false); e >= 0 {
		return e
	}
	j := i
	if s[i] == ' ' {
		j++
	}
	for _, class := range [...]func(rune) bool{isL, isN, isOther} {
		if e, n := span(s, j, class); n > 0 {
			return e
		}
	}
	return wsTail(s, i, false)
}

// cl100kAt matches cl100kPattern at i.
func cl100kAt(s string, i int) int { return cl100kStyleAt(s, i, 3) }

// qwen2At matches qwen2Pattern at i.
func qwen2At(s string, i int) int { return cl100kStyleAt(s, i, 1) }

// cl100kStyleAt matches cl100kPattern at i, with \p{N}{1,digits} for its
// \p{N}{1,3}.
func cl100kStyleAt(s string, i int, digits int) int {
	if e := contraction(s, i, true); e >= 0 {
		return e
	}
	r, w := runeAt(s, i)
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if isL(r) {
		e, _ := span(s, i, isL)
		return e
	}
	if !isCRLF(r) && !isN(r) {
		if e, n := span(s, i+w, isL); n > 0 {
			return e
		}
	}
	// \p{N}{1,digits}
	if isN(r) {
		j := i
		for k := 0; k < digits; k++ {
			r2, w2 := runeAt(s, j)
			if !isN(r2) {
				break
			}
			j += w2
		}
		return j
	}
	//  ?[^\s\p{L}\p{N}]+[\r\n]*
	j := i
	if r == ' ' {
		j++
	}
	if e, n := span(s, j, isOther); n > 0 {
		e, _ = span(s, e, isCRLF)
		return e
	}
	return wsTail(s, i, true)
}

// regexp2Matcher runs any other pattern with .NET-style backtracking.
type regexp2Matcher struct{ re *regexp2.Regexp }

func (m regexp2Matcher) find(s string, dst [][2]int) [][2]int {
	// regexp2 works on runes and reports rune offsets; map them back to bytes.
	runes := make([]rune, 0, len(s))
	off := make([]int, 0, len(s)+1)
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		runes = append(runes, r)
		off = append(off, i)
		i += w
	}
	off = append(off, len(s))
	mt, err := m.re.FindRunesMatch(runes)
	at := 0
	for err == nil && mt != nil {
		if mt.Length > 0 {
			dst = append(dst, [2]int{off[mt.Index], off[mt.Index+mt.Length]})
		}
		at = off[mt.Index+mt.Length]
		mt, err = m.re.FindNextMatch(mt)
	}
	if err != nil {
		panic(timeoutError{pattern: m.re.String(), at: at, err: err}) // recovered by EncodeChecked
	}
	return dst
}
