package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// byteLevelAlphabet maps every byte to the printable rune that GPT-2 style
// byte-level BPE uses for it: printable Latin-1 bytes map to themselves, the
// others to U+0100 onwards, in byte order.
type byteLevelAlphabet struct {
	toRune [256]rune
	toByte map[rune]byte
}

func newByteLevelAlphabet() *byteLevelAlphabet {
	a := &byteLevelAlphabet{toByte: make(map[rune]byte, 256)}
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		r := rune(b)
		if !printable(b) {
			r = 256 + n
			n++
		}
		a.toRune[b] = r
		a.toByte[r] = byte(b)
	}
	return a
}

// encode maps every byte of s to its alphabet rune.
func (a *byteLevelAlphabet) encode(s string) string {
	var sb strings.Builder
	sb.Grow(2 * len(s))
	for i := 0; i < len(s); i++ {
		sb.WriteRune(a.toRune[s[i]])
	}
	return sb.String()
}

// decodeToken appends the bytes that token stands for. A token with any rune
// outside the alphabet (an added token such as a run of spaces) contributes
// its own UTF-8 bytes, as Hugging Face's ByteLevel decoder does.
func (a *byteLevelAlphabet) decodeToken(dst []byte, token string) []byte {
	n := len(dst)
	for _, r := range token {
		b, ok := a.toByte[r]
		if !ok {
			return append(dst[:n], token...)
		}
		dst = append(dst, b)
	}
	return dst
}

// lossyUTF8 converts b to a string, replacing each maximal invalid subpart
// with U+FFFD the way Rust's String::from_utf8_lossy does (one replacement per
// truncated sequence, not one per byte).
func lossyUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			sb.WriteByte(b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			sb.Write(b[i : i+size])
			i += size
			continue
		}
		sb.WriteRune(utf8.RuneError)
		i += invalidPrefixLen(b[i:])
	}
	return sb.String()
}

// invalidPrefixLen returns the length of the maximal prefix of b (which starts
// with an invalid sequence) that could begin a valid UTF-8 sequence; at least 1.
func invalidPrefixLen(b []byte) int {
	c := b[0]
	var need int
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		x := b[n]
		if k == 0 {
			if x < lo || x > hi {
				return n
			}
		} else if x < 0x80 || x > 0xBF {
			return n
		}
		n++
	}
	return n
}
