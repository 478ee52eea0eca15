package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// trie finds added tokens leftmost-longest, like the Aho-Corasick automaton
// (MatchKind::LeftmostLongest) of Hugging Face's AddedVocabulary.
type trie struct {
	nodes []trieNode
	first [256]bool // bytes that start a pattern
}

type trieNode struct {
	next  map[byte]int32
	token int32 // index into the added tokens, -1 if none ends here
}

func newTrie() *trie { return &trie{nodes: []trieNode{{token: -1}}} }

func (t *trie) insert(pattern string, token int) {
	if pattern == "" {
		return
	}
	t.first[pattern[0]] = true
	n := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		nx, ok := t.nodes[n].next[c]
		if !ok {
			if t.nodes[n].next == nil {
				t.nodes[n].next = make(map[byte]int32)
			}
			nx = int32(len(t.nodes))
			t.nodes[n].next[c] = nx
			t.nodes = append(t.nodes, trieNode{token: -1})
		}
		n = int(nx)
	}
	if t.nodes[n].token < 0 {
		t.nodes[n].token = int32(token)
	}
}

func (t *trie) empty() bool { return len(t.nodes) == 1 }

// longestAt returns the longest pattern starting at i: (end, token) or (-1, -1).
func (t *trie) longestAt(s string, i int) (end, token int) {
	end, token = -1, -1
	if !t.first[s[i]] {
		return end, token
	}
	n := 0
	for j := i; j < len(s); j++ {
		nx, ok := t.nodes[n].next[s[j]]
		if !ok {
			break
		}
		n = int(nx)
		if tk := t.nodes[n].token; tk >= 0 {
			end, token = j+1, int(tk)
		}
	}
	return end, token
}

// segment is a piece of input: either text still to tokenize (id < 0) or an
// added token.
type segment struct {
	text  string
	id    int
	first bool // starts the input
}

// splitAdded splits s around the added tokens of t, honouring single_word,
// lstrip and rstrip like AddedVocabulary::find_matches. Empty text pieces
// are dropped.
func splitAdded(dst []segment, s string, first bool, t *trie, tokens []addedToken) []segment {
	if t.empty() {
		if s != "" {
			dst = append(dst, segment{text: s, id: -1, first: first})
		}
		return dst
	}
	startOffset := 0
	emit := func(a, b int) {
		if b > a {
			dst = append(dst, segment{text: s[a:b], id: -1, first: first && a == 0})
		}
	}
	for i := 0; i < len(s); {
		stop, k := t.longestAt(s, i)
		if k < 0 {
			i++
			continue
		}
		start := i
		tok := tokens[k]
		if tok.SingleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				i = stop // the automaton resumes after a rejected match
				continue
			}
		}
		if tok.LStrip {
			start = max(leadingSpaceStart(s[:start]), startOffset)
		}
		if tok.RStrip {
			stop += trailingSpaceLen(s[stop:])
		}
		emit(startOffset, start)
		dst = append(dst, segment{text: s[start:stop], id: tok.ID})
		startOffset = stop
		i = stop
	}
	emit(startOffset, len(s))
	return dst
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) ||
		unicode.Is(unicode.Mc, r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Me, r)
}

func endsWithWord(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordRune(r)
}

// leadingSpaceStart returns where the trailing whitespace of s begins.
func leadingSpaceStart(s string) int {
	for len(s) > 0 {
		r, w := utf8.DecodeLastRuneInString(s)
		if !isS(r) {
			break
		}
		s = s[:len(s)-w]
	}
	return len(s)
}

// trailingSpaceLen returns the length of the leading whitespace of s.
func trailingSpaceLen(s string) int {
	n := 0
	for n < len(s) {
		r, w := utf8.DecodeRuneInString(s[n:])
		if !isS(r) {
			break
		}
		n += w
	}
	return n
}
