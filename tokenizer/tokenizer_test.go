package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// spJSON is a tiny SentencePiece-style tokenizer.json in the layout of the
// Llama 2 conversion: <unk>, <s>, </s>, 256 byte tokens, then pieces.
func spJSON(t testing.TB, byteFallback bool) []byte {
	t.Helper()
	vocab := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}
	for b := range 256 {
		vocab[fmt.Sprintf("<0x%02X>", b)] = 3 + b
	}
	for i, p := range []string{"▁", "a", "b", "ab", "▁ab", "c"} {
		vocab[p] = 259 + i
	}
	doc := map[string]any{
		"version": "1.0",
		"added_tokens": []map[string]any{
			{"id": 0, "content": "<unk>", "special": true},
			{"id": 1, "content": "<s>", "special": true},
			{"id": 2, "content": "</s>", "special": true},
		},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": "▁"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"},
		}},
		"pre_tokenizer": nil,
		"post_processor": map[string]any{
			"type":           "TemplateProcessing",
			"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
			"special_tokens": map[string]any{"<s>": map[string]any{"id": "<s>", "ids": []int{1}, "tokens": []string{"<s>"}}},
		},
		"decoder": map[string]any{"type": "Sequence", "decoders": []any{
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
			map[string]any{"type": "ByteFallback"},
			map[string]any{"type": "Fuse"},
			map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0},
		}},
		"model": map[string]any{
			"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": byteFallback,
			"vocab": vocab, "merges": []string{"a b", "▁ ab"},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blJSON is a tiny byte-level tokenizer.json: token id = byte value for the
// 256 alphabet runes, a few merges, and added tokens exercising every flag.
func blJSON(t testing.TB, ignoreMerges bool) []byte {
	t.Helper()
	a := newByteLevelAlphabet()
	vocab := map[string]int{}
	for b := range 256 {
		vocab[string(a.toRune[b])] = b
	}
	for i, p := range []string{"Ġt", "he", "Ġthe", "abc", "ab"} {
		vocab[p] = 256 + i
	}
	doc := map[string]any{
		"version": "1.0",
		"added_tokens": []map[string]any{
			{"id": 261, "content": "<|endoftext|>", "special": true},
			{"id": 262, "content": "  ", "normalized": true},
			{"id": 263, "content": "<mask>", "lstrip": true, "special": true},
			{"id": 264, "content": "[W]", "single_word": true},
		},
		"normalizer":     map[string]any{"type": "NFC"},
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"post_processor": map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"decoder":        map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{
			"type": "BPE", "ignore_merges": ignoreMerges,
			"vocab": vocab, "merges": [][]string{{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"a", "b"}},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, name string, data []byte) *Tokenizer {
	t.Helper()
	tok, err := Parse(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestEncodeTiny(t *testing.T) {
	sp := mustParse(t, "sp", spJSON(t, true))
	spUnk := mustParse(t, "sp-unk", spJSON(t, false))
	bl := mustParse(t, "bl", blJSON(t, false))
	blIgnore := mustParse(t, "bl-ignore", blJSON(t, true))
	cases := []struct {
		name    string
		tok     *Tokenizer
		text    string
		special bool
		want    []int
	}{
		// "▁ab▁ab▁c": "a b" merges first (rank 0, leftmost), then "▁ ab".
		{"sp merges", sp, "ab ab c", false, []int{263, 263, 259, 264}},
		{"sp bos", sp, "ab", true, []int{1, 263}},
		{"sp empty", sp, "", true, []int{1}},
		{"sp empty no bos", sp, "", false, []int{}},
		// é is not in the vocab: its UTF-8 bytes C3 A9 become <0xC3> <0xA9>.
		{"sp byte fallback", sp, "é", false, []int{259, 3 + 0xC3, 3 + 0xA9}},
		{"sp unk fused", spUnk, "éé c", false, []int{259, 0, 259, 264}},
		// Added tokens split the raw text; each piece is normalized (▁ prepended) separately.
		{"sp added", sp, "ab</s>ab", false, []int{263, 2, 263}},
		{"bl merges", bl, "the the", false, []int{'t', 257, 258}},
		{"bl whitespace token", bl, "a  b", false, []int{'a', 262, 'b'}},
		{"bl whitespace token x2", bl, "a     b", false, []int{'a', 262, 262, ' ', 'b'}},
		{"bl special", bl, "x<|endoftext|>y", false, []int{'x', 261, 'y'}},
		{"bl lstrip", bl, "a <mask>b", false, []int{'a', 263, 'b'}},
		{"bl single word inside a word", bl, "a[W]b", false, []int{'a', '[', 'W', ']', 'b'}},
		{"bl single word", bl, "a [W] b", false, []int{'a', ' ', 264, ' ', 'b'}},
		{"bl no post-processor BOS", bl, "ab", true, []int{260}},
		{"bl merges only", bl, "abc", false, []int{260, 'c'}},
		{"bl ignore_merges", blIgnore, "abc", false, []int{259}},
		// NFC: e + combining acute composes to é (C3 A9) before byte mapping.
		{"bl NFC", bl, "e\u0301", false, []int{0xC3, 0xA9}},
	}
	for _, c := range cases {
		got := c.tok.Encode(c.text, c.special)
		if got == nil {
			got = []int{}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(%q) = %v, want %v", c.name, c.text, got, c.want)
		}
	}
}

// TestMergeForms: model.merges as "left right" strings and as [left, right]
// pairs (Qwen3's format) give the same model, and only pairs can hold tokens
// with a space, as in Hugging Face.
func TestMergeForms(t *testing.T) {
	doc := func(merges any) []byte {
		b, err := json.Marshal(map[string]any{
			"model": map[string]any{
				"type":   "BPE",
				"vocab":  map[string]int{"a": 0, "b": 1, " ": 2, "ab": 3, "a ": 4, "a b": 5, "abb": 6},
				"merges": merges,
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lines := mustParse(t, "lines", doc([]string{"#version: 0.2", "a b", "ab b"}))
	pairs := mustParse(t, "pairs", doc([][]string{{"a", "b"}, {"ab", "b"}}))
	for _, s := range []string{"abb", "ab", "ba", "abbab", "a b"} {
		if got, want := pairs.Encode(s, false), lines.Encode(s, false); !slices.Equal(got, want) {
			t.Errorf("%q: pairs %v, lines %v", s, got, want)
		}
	}
	if got := lines.Encode("abbab", false); !slices.Equal(got, []int{6, 3}) {
		t.Errorf("lines: abbab = %v, want [6 3]", got)
	}
	// The "#version" header takes no rank: "a b" is rank 0.
	if mg := lines.model.merges[pairKey(0, 1)]; mg.rank != 0 {
		t.Errorf("rank of a b = %d, want 0", mg.rank)
	}
	spaced := mustParse(t, "spaced", doc([][]string{{"a", " "}, {"a ", "b"}}))
	if got := spaced.Encode("a b", false); !slices.Equal(got, []int{5}) {
		t.Errorf("spaced pairs: %v, want [5]", got)
	}
	if _, err := Parse("bad", doc([]string{"a  b"})); err == nil {
		t.Error(`"a  b" as a string merge: no error`)
	}
}

func TestDecodeTiny(t *testing.T) {
	sp := mustParse(t, "sp", spJSON(t, true))
	bl := mustParse(t, "bl", blJSON(t, false))
	cases := []struct {
		name string
		tok  *Tokenizer
		ids  []int
		want string
	}{
		{"sp", sp, []int{263, 263, 259, 264}, "ab ab c"},
		{"sp bytes", sp, []int{263, 3 + 0xC3, 3 + 0xA9}, "abé"},
		// A lone continuation byte is invalid: one U+FFFD per byte of the run.
		{"sp invalid bytes", sp, []int{263, 3 + 0xC3, 3 + 0xC3}, "ab\uFFFD\uFFFD"},
		{"sp bos kept", sp, []int{1, 263}, "<s> ab"},
		{"sp unknown id skipped", sp, []int{263, 99999, -1}, "ab"},
		{"bl", bl, []int{'t', 257, 258}, "the the"},
		{"bl added", bl, []int{'a', 262, 261}, "a  <|endoftext|>"},
		// Rust's from_utf8_lossy: a truncated 3-byte sequence (E2 82) is one U+FFFD.
		{"bl lossy", bl, []int{'a', 0xE2, 0x82, 'b', 0xFF}, "a\uFFFDb\uFFFD"},
	}
	for _, c := range cases {
		if got := c.tok.Decode(c.ids); got != c.want {
			t.Errorf("%s: Decode(%v) = %q, want %q", c.name, c.ids, got, c.want)
		}
	}
}

func TestTokenAndVocab(t *testing.T) {
	sp := mustParse(t, "sp", spJSON(t, true))
	bl := mustParse(t, "bl", blJSON(t, false))
	if got, want := sp.VocabSize(), 265; got != want {
		t.Errorf("sp VocabSize = %d, want %d", got, want)
	}
	if got, want := bl.VocabSize(), 265; got != want {
		t.Errorf("bl VocabSize = %d, want %d", got, want)
	}
	for _, c := range []struct {
		tok  *Tokenizer
		id   int
		want string
	}{{sp, 1, "<s>"}, {sp, 263, "▁ab"}, {sp, 3 + 0x0A, "<0x0A>"}, {bl, ' ', "Ġ"}, {bl, 262, "  "}, {bl, 9999, ""}, {bl, -1, ""}} {
		if got := c.tok.Token(c.id); got != c.want {
			t.Errorf("Token(%d) = %q, want %q", c.id, got, c.want)
		}
	}
}

func TestBOSPolicy(t *testing.T) {
	sp := mustParse(t, "sp", spJSON(t, true))
	bl := mustParse(t, "bl", blJSON(t, false))
	if id, ok := sp.BOS(); !ok || id != 1 {
		t.Errorf("sp BOS() = %d, %v; want 1, true", id, ok)
	}
	if _, ok := bl.BOS(); ok {
		t.Errorf("bl BOS() ok, want none")
	}
	cases := []struct {
		tok     *Tokenizer
		policy  string
		want    []int
		wantErr string
	}{
		{sp, "auto", []int{1, 263}, ""},
		{sp, "always", []int{1, 263}, ""},
		{sp, "never", []int{263}, ""},
		{bl, "auto", []int{260}, ""},
		{bl, "never", []int{260}, ""},
		{bl, "always", nil, "defines no BOS"},
	}
	for _, c := range cases {
		p, err := ParseBOSPolicy(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		if p.String() != c.policy {
			t.Errorf("String() = %q, want %q", p, c.policy)
		}
		got, err := c.tok.EncodeBOS("ab", p)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want %q", c.policy, err, c.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: EncodeBOS = %v, %v; want %v", c.policy, got, err, c.want)
		}
	}
	if _, err := ParseBOSPolicy("sometimes"); err == nil {
		t.Error("ParseBOSPolicy(sometimes): no error")
	}
}

// TestBOSFromConfig: without a post-processor BOS, tokenizer_config.json
// beside tokenizer.json supplies it (add_bos_token decides BOSAuto).
func TestBOSFromConfig(t *testing.T) {
	for _, c := range []struct {
		config   string
		wantBOS  int
		wantAuto []int
		wantErr  string
	}{
		{`{"add_bos_token": true, "bos_token": "<|endoftext|>"}`, 261, []int{261, 260}, ""},
		{`{"add_bos_token": false, "bos_token": {"content": "<|endoftext|>"}}`, 261, []int{260}, ""},
		{`{"bos_token": "<nope>"}`, 0, nil, `bos_token: "<nope>" is not in the vocabulary`},
		{`{"bos_token": `, 0, nil, "tokenizer_config.json"},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "tokenizer.json")
		if err := os.WriteFile(path, blJSON(t, false), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(c.config), 0o644); err != nil {
			t.Fatal(err)
		}
		tok, err := Load(path)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want %q", c.config, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if id, ok := tok.BOS(); !ok || id != c.wantBOS {
			t.Errorf("%s: BOS() = %d, %v; want %d", c.config, id, ok, c.wantBOS)
		}
		if got, _ := tok.EncodeBOS("ab", BOSAuto); !slices.Equal(got, c.wantAuto) {
			t.Errorf("%s: auto = %v, want %v", c.config, got, c.wantAuto)
		}
	}
}

// TestLoadErrors: every malformed input is an error naming the file and the field.
func TestLoadErrors(t *testing.T) {
	edit := func(f func(doc map[string]any)) []byte {
		var doc map[string]any
		if err := json.Unmarshal(spJSON(t, true), &doc); err != nil {
			t.Fatal(err)
		}
		f(doc)
		b, _ := json.Marshal(doc)
		return b
	}
	model := func(doc map[string]any) map[string]any { return doc["model"].(map[string]any) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not json", []byte("{"), "bad.json: not a valid tokenizer.json"},
		{"not an object", []byte("[1]"), "bad.json: not a valid tokenizer.json"},
		{"trailing data", []byte(`{"model": {}} x`), "data after the top-level object"},
		{"no model", edit(func(d map[string]any) { delete(d, "model") }), "model: missing"},
		{"wordpiece", edit(func(d map[string]any) { model(d)["type"] = "WordPiece" }), `model.type: unsupported model "WordPiece"`},
		{"no merges", edit(func(d map[string]any) { delete(model(d), "merges") }), "model.merges: missing"},
		{"bad merge", edit(func(d map[string]any) { model(d)["merges"] = []string{"a"} }), "merges[0]"},
		{"merge not in vocab", edit(func(d map[string]any) { model(d)["merges"] = []string{"a z"} }), `model.merges[0]: token "z" is not in the vocab`},
		{"merged not in vocab", edit(func(d map[string]any) { model(d)["merges"] = []string{"b a"} }), `merged token "ba" is not in the vocab`},
		{"merge pair of one", edit(func(d map[string]any) { model(d)["merges"] = [][]string{{"a"}} }), "model: merges[0]: want a pair of two tokens, got 1"},
		{"merge pair of three", edit(func(d map[string]any) { model(d)["merges"] = [][]string{{"a", "b", "c"}} }), "model: merges[0]: want a pair of two tokens, got more"},
		{"merge pair not strings", edit(func(d map[string]any) { model(d)["merges"] = [][]int{{1, 2}} }), "model: merges[0]"},
		{"mixed merge forms", edit(func(d map[string]any) { model(d)["merges"] = []any{"a b", []string{"▁", "ab"}} }), "merges[1]: the list mixes"},
		{"mixed merge forms 2", edit(func(d map[string]any) { model(d)["merges"] = []any{[]string{"a", "b"}, "▁ ab"} }), "merges[1]: the list mixes"},
		{"unk missing", edit(func(d map[string]any) { model(d)["unk_token"] = "<?>" }), `model.unk_token: "<?>" is not in the vocab`},
		{"dropout", edit(func(d map[string]any) { model(d)["dropout"] = 0.1 }), "model.dropout"},
		{"version", edit(func(d map[string]any) { d["version"] = "2.0" }), `version: unknown tokenizer.json version "2.0"`},
		{"normalizer", edit(func(d map[string]any) { d["normalizer"] = map[string]any{"type": "BertNormalizer"} }), `normalizer.type: unsupported normalizer "BertNormalizer"`},
		{"nested normalizer", edit(func(d map[string]any) {
			d["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "Strip"}}}
		}), `normalizer.normalizers[0].type: unsupported normalizer "Strip"`},
		{"pre-tokenizer", edit(func(d map[string]any) { d["pre_tokenizer"] = map[string]any{"type": "BertPreTokenizer"} }), `pre_tokenizer.type: unsupported pre-tokenizer "BertPreTokenizer"`},
		{"split behavior", edit(func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"String": " "}, "behavior": "Sideways"}
		}), `pre_tokenizer.behavior: unknown split behavior "Sideways"`},
		{"bad regex", edit(func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "(("}, "behavior": "Isolated"}
		}), "pre_tokenizer.pattern: regex"},
		{"decoder", edit(func(d map[string]any) { d["decoder"] = map[string]any{"type": "WordPiece"} }), `decoder.type: unsupported decoder "WordPiece"`},
		{"post-processor", edit(func(d map[string]any) { d["post_processor"] = map[string]any{"type": "Magic"} }), `post_processor.type: unsupported post-processor "Magic"`},
		{"template token", edit(func(d map[string]any) {
			d["post_processor"].(map[string]any)["special_tokens"] = map[string]any{}
		}), `post_processor.single[0]: special token "<s>" missing from special_tokens`},
		{"template id", edit(func(d map[string]any) {
			d["post_processor"].(map[string]any)["special_tokens"] = map[string]any{"<s>": map[string]any{"ids": []int{99999}}}
		}), "post_processor: special token id 99999 is not in the vocabulary"},
		{"vocab not ints", edit(func(d map[string]any) { model(d)["vocab"] = map[string]any{"a": "x"} }), `vocab["a"]`},
		{"added tokens", edit(func(d map[string]any) { d["added_tokens"] = "x" }), "added_tokens:"},
		{"huge id", edit(func(d map[string]any) { model(d)["vocab"].(map[string]any)["c"] = 1 << 40 }), "model.vocab: token id 1099511627776 is far beyond"},
	}
	for _, c := range cases {
		_, err := Parse("bad.json", c.data)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%s: error %q, want it to name bad.json and contain %q", c.name, err, c.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: error %v, want one naming missing.json", err)
	}
}

// TestConcurrentEncode exercises the word cache from several goroutines
// (run with -race to check it).
func TestConcurrentEncode(t *testing.T) {
	bl := mustParse(t, "bl", blJSON(t, false))
	want := bl.Encode("the the abc  x", false)
	done := make(chan []int)
	for range 4 {
		go func() {
			var last []int
			for range 200 {
				last = bl.Encode("the the abc  x", false)
			}
			done <- last
		}()
	}
	for range 4 {
		if got := <-done; !slices.Equal(got, want) {
			t.Errorf("concurrent Encode = %v, want %v", got, want)
		}
	}
}
