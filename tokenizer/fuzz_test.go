package tokenizer

import (
	"testing"
	"unicode/utf8"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// FuzzEncode runs random strings through the Llama 3 and Llama 2 tokenizers
// (the tiny built-in ones when the fixtures are absent): no panic, every id
// inside the vocabulary, and for byte-level BPE decode(encode(s)) == s on
// valid UTF-8 (after the tokenizer's normalizer, if it has one).
func FuzzEncode(f *testing.F) {
	type subject struct {
		name      string
		tok       *Tokenizer
		byteLevel bool
	}
	var subjects []subject
	if fixtures.Dir() != "" {
		for _, c := range []struct {
			name, path string
			byteLevel  bool
		}{
			{"llama3", "tokenizers/llama3/tokenizer.json", true},
			{"llama2", "tokenizers/llama2/tokenizer.json", false},
		} {
			tok, err := Load(fixtures.Path(f, c.path))
			if err != nil {
				f.Fatal(err)
			}
			subjects = append(subjects, subject{c.name, tok, c.byteLevel})
		}
	} else {
		subjects = []subject{
			{"tiny-bytelevel", mustParse(f, "bl", blJSON(f, false)), true},
			{"tiny-sentencepiece", mustParse(f, "sp", spJSON(f, true)), false},
		}
	}
	for _, s := range []string{
		"", " ", "Hello world", "  \n\n\t x", "I'LL 12345 don't", "🦙.cpp 😶‍🌫️", "<|begin_of_text|>hi<s>",
		"e\u0301 \u00a0\u3000\u200b", "\xff\xfe invalid", "'ſ", "333333333", "\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, sub := range subjects {
			ids := sub.tok.Encode(s, true)
			for _, id := range ids {
				if id < 0 || id >= sub.tok.VocabSize() {
					t.Fatalf("%s: id %d outside the vocabulary (%d) for %q", sub.name, id, sub.tok.VocabSize(), s)
				}
			}
			plain := sub.tok.Encode(s, false)
			got := sub.tok.Decode(plain)
			want := s
			if sub.tok.norm != nil {
				want = sub.tok.norm.normalize(s) // e.g. NFC composes "e\u0301" to "é"
			}
			if sub.byteLevel && utf8.ValidString(s) && got != want {
				t.Fatalf("%s: decode(encode(%q)) = %q, want %q", sub.name, s, got, want)
			}
		}
	})
}
