package tokenizer

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// FuzzEncode runs random strings through the Llama 3, Llama 2, Qwen3 and
// Phi-3 tokenizers (the tiny built-in ones when the fixtures are absent): no
// panic, every id inside the vocabulary, and for byte-level BPE
// decode(encode(s)) == s on valid UTF-8 (after the tokenizer's normalizer, if
// it has one, applied to the text between added tokens as encoding does).
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
			{"qwen3", "tokenizers/qwen3/tokenizer.json", true},
			{"phi3", "tokenizers/phi3/tokenizer.json", false},
		} {
			subjects = append(subjects, subject{c.name, loadFixture(f, c.path), c.byteLevel})
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
		"<|im_start|>user\n²𝟘<think>x</think><|im_end|>\u0338", "<|user|>  hi<|end|>\n</s>  x",
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
			if sub.byteLevel && utf8.ValidString(s) {
				if want := normalizedText(sub.tok, s); got != want {
					t.Fatalf("%s: decode(encode(%q)) = %q, want %q", sub.name, s, got, want)
				}
			}
		}
	})
}

// normalizedText is s as a byte-level tokenizer sees it: added tokens matched
// in the raw text are kept, the text between them is normalized piece by
// piece (so NFC does not compose across a token, as in ">" + U+0338).
func normalizedText(t *Tokenizer, s string) string {
	if t.norm == nil {
		return s
	}
	var sb strings.Builder
	for _, sg := range splitAdded(nil, s, true, t.rawTrie, t.added) {
		if sg.id >= 0 {
			sb.WriteString(sg.text)
		} else {
			sb.WriteString(t.norm.normalize(sg.text))
		}
	}
	return sb.String()
}

// tinyMergesDoc is a minimal tokenizer.json with the given merges.
func tinyMergesDoc(tb testing.TB, merges any) []byte {
	tb.Helper()
	b, err := json.Marshal(map[string]any{
		"version": "1.0",
		"model": map[string]any{
			"type":   "BPE",
			"vocab":  map[string]int{"a": 0, "b": 1, " ": 2, "ab": 3, "a ": 4, "a b": 5, "abb": 6},
			"merges": merges,
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzParse feeds mutated tokenizer.json documents to Parse: no panic, and a
// document that loads encodes and decodes with every id inside the
// vocabulary. The vocabulary and merges, read by a hand-written scanner, are
// checked against encoding/json: when the scanner accepts a document that
// encoding/json also reads, both must give the same vocabulary and merges, and
// the merges must be a valid list in one of Hugging Face's two forms ("left
// right" strings, or [left, right] pairs as in Qwen3's file).
func FuzzParse(f *testing.F) {
	f.Add(spJSON(f, true))
	f.Add(blJSON(f, false)) // pairs
	f.Add(tinyMergesDoc(f, []string{"#version: 0.2", "a b", "ab b"}))
	f.Add(tinyMergesDoc(f, [][]string{{"a", " "}, {"a ", "b"}}))
	f.Add(tinyMergesDoc(f, []any{"a b", []string{"ab", "b"}})) // mixed: an error
	f.Add(tinyMergesDoc(f, [][]string{{"a"}}))                 // one token: an error
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a\u0020":0,"\ud83e\udd99":1,"x":2},"merges":[["a\u0020","x"]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		_, mj, _, err := parseFileJSON(data)
		if err == nil && mj != nil {
			if vocab, merges, ok := referenceModel(data); ok {
				if !maps.Equal(mj.Vocab, vocab) {
					t.Fatalf("vocab %v, encoding/json reads %v", mj.Vocab, vocab)
				}
				if merges == nil {
					t.Fatalf("merges %q accepted, but they are not a valid merges list", mj.Merges)
				}
				if !slices.Equal(mj.Merges, merges) {
					t.Fatalf("merges %q, encoding/json reads %q", mj.Merges, merges)
				}
			}
		}
		tok, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		for _, s := range []string{"", "ab ab c", "the <|endoftext|> é 12", string(data[:min(len(data), 32)])} {
			ids := tok.Encode(s, true)
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					t.Fatalf("id %d outside the vocabulary (%d) for %q", id, tok.VocabSize(), s)
				}
			}
			tok.Decode(ids)
			tok.Decode([]int{-1, 0, 1, tok.VocabSize(), 1 << 40})
		}
	})
}

// referenceModel reads model.vocab and model.merges of a tokenizer.json with
// encoding/json, with case-sensitive keys as Hugging Face's serde. ok is false
// when it cannot (the document is not plain JSON of that shape); merges is nil
// when the merges list is invalid: neither all "left right" strings ("#version"
// lines skipped) nor all pairs of two strings.
func referenceModel(data []byte) (vocab map[string]int, merges []mergeJSON, ok bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return nil, nil, false
	}
	var model map[string]json.RawMessage
	if json.Unmarshal(top["model"], &model) != nil || model == nil {
		return nil, nil, false
	}
	var rawMerges []json.RawMessage
	if json.Unmarshal(model["vocab"], &vocab) != nil || json.Unmarshal(model["merges"], &rawMerges) != nil {
		return nil, nil, false
	}
	if model["merges"] == nil || model["vocab"] == nil {
		return nil, nil, false
	}
	merges = []mergeJSON{}
	pairs := 0
	for _, r := range rawMerges {
		var v any
		if json.Unmarshal(r, &v) != nil {
			return nil, nil, false
		}
		switch x := v.(type) {
		case string:
			if strings.HasPrefix(x, "#version") {
				continue
			}
			parts := strings.Split(x, " ")
			if len(parts) != 2 {
				return vocab, nil, true
			}
			merges = append(merges, mergeJSON{parts[0], parts[1]})
		case []any:
			pairs++
			if len(x) != 2 {
				return vocab, nil, true
			}
			l, ok1 := x[0].(string)
			r, ok2 := x[1].(string)
			if !ok1 || !ok2 {
				return vocab, nil, true
			}
			merges = append(merges, mergeJSON{l, r})
		default:
			return vocab, nil, true
		}
	}
	if pairs != 0 && pairs != len(rawMerges) {
		return vocab, nil, true // the two forms mixed
	}
	return vocab, merges, true
}

// FuzzLoad loads a mutated tokenizer.json with a mutated
// tokenizer_config.json beside it, as a checkpoint directory holds them,
// and encodes texts under every BOS policy: an error or ids inside the
// vocabulary, a BOS only where the policy puts one, never a panic or a hang
// (a regex that backtracks is stopped by MatchTimeout, so every input ends
// within a few timeouts).
func FuzzLoad(f *testing.F) {
	f.Add(spJSON(f, true), []byte(`{"bos_token":"<s>","add_bos_token":true}`))
	f.Add(blJSON(f, false), []byte(`{"bos_token":{"content":"<s>","lstrip":false}}`))
	f.Add(tinyMergesDoc(f, []string{"a b"}), []byte(`{"add_bos_token":false}`))
	f.Add([]byte(`{"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(a+)+$"},"behavior":"Isolated"},"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[]}}`), []byte(`{}`))
	f.Add([]byte(`{"normalizer":{"type":"Replace","pattern":{"Regex":"(a|aa)+c"},"content":"x"},"model":{"type":"BPE","vocab":{"a":0,"x":1},"merges":[]}}`), []byte(`not json`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, tok, cfg []byte) {
		if len(tok) > 1<<16 || len(cfg) > 1<<12 {
			return
		}
		d, err := os.MkdirTemp(dir, "ck")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(d)
		p := filepath.Join(d, "tokenizer.json")
		os.WriteFile(p, tok, 0o644)
		os.WriteFile(filepath.Join(d, "tokenizer_config.json"), cfg, 0o644)
		tk, err := Load(p)
		if err != nil {
			if !strings.Contains(err.Error(), d) {
				t.Fatalf("error %q names neither file", err)
			}
			return
		}
		for _, s := range []string{"", "aaaaaaaaaaab ab", "the <s> é 12\n"} {
			for _, pol := range []BOSPolicy{BOSAuto, BOSAlways, BOSNever} {
				ids, err := tk.EncodeBOS(s, pol)
				if err != nil {
					continue
				}
				for _, id := range ids {
					if id < 0 || id >= tk.VocabSize() {
						t.Fatalf("id %d outside the vocabulary (%d) for %q", id, tk.VocabSize(), s)
					}
				}
				if bos, ok := tk.BOS(); pol == BOSAlways && (!ok || len(ids) == 0 || ids[0] != bos) {
					t.Fatalf("--bos always: ids %v do not start with the BOS %d", ids, bos)
				}
				tk.Decode(ids)
			}
		}
	})
}
