package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// metaChunker speeds up SentencePiece-style models that have no
// pre-tokenizer (Llama 2), where the whole normalized text is one BPE word:
// it cuts the text before every meta symbol (▁) that follows another
// character. The ids are unchanged when no vocabulary token contains a
// character other than ▁ followed by ▁ (checked by newMetaChunker): then no
// merge can ever join symbols across such a cut, each side merges
// independently in the same rank order, and the pieces can use the word
// cache. It is not used with a continuing-subword prefix, end-of-word suffix
// or ignore_merges, whose meaning depends on the word boundaries.
type metaChunker struct{ meta string }

const metaSymbol = "▁"

// newMetaChunker returns the chunker if it is safe for m, else nil.
func newMetaChunker(m *bpe) preTokenizer {
	if m.prefix != "" || m.suffix != "" || m.ignoreMerges {
		return nil
	}
	if _, ok := m.vocab[metaSymbol]; !ok {
		return nil
	}
	for tok := range m.vocab {
		for i := strings.Index(tok, metaSymbol); i >= 0; {
			if i > 0 && !strings.HasSuffix(tok[:i], metaSymbol) {
				return nil
			}
			j := strings.Index(tok[i+len(metaSymbol):], metaSymbol)
			if j < 0 {
				break
			}
			i += len(metaSymbol) + j
		}
	}
	return metaChunker{metaSymbol}
}

func (c metaChunker) split(dst []string, s string, _ bool) []string {
	start := 0
	for i := 0; i < len(s); {
		k := strings.Index(s[i:], c.meta)
		if k < 0 {
			break
		}
		k += i
		if k > start {
			r, _ := utf8.DecodeLastRuneInString(s[:k])
			if string(r) != c.meta {
				dst = append(dst, s[start:k])
				start = k
			}
		}
		i = k + len(c.meta)
	}
	if start < len(s) {
		dst = append(dst, s[start:])
	}
	return dst
}
