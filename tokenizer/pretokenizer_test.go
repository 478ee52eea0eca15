package tokenizer

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestSplitBehaviors uses the example of Hugging Face's documentation:
// splitting "the-final--countdown" on "-".
func TestSplitBehaviors(t *testing.T) {
	cases := []struct {
		behavior string
		want     []string
	}{
		{"Removed", []string{"the", "final", "countdown"}},
		{"Isolated", []string{"the", "-", "final", "-", "-", "countdown"}},
		{"MergedWithPrevious", []string{"the-", "final-", "-", "countdown"}},
		{"MergedWithNext", []string{"the", "-final", "-", "-countdown"}},
		{"Contiguous", []string{"the", "-", "final", "--", "countdown"}},
	}
	for _, c := range cases {
		b, ok := parseSplitBehavior(c.behavior)
		if !ok {
			t.Fatalf("behavior %s not parsed", c.behavior)
		}
		got := splitPre{m: literalMatcher("-"), behavior: b}.split(nil, "the-final--countdown", true)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.behavior, got, c.want)
		}
	}
	// invert: the pattern matches the pieces to keep; Removed drops the rest.
	m, err := newRegexMatcher(`\w+`)
	if err != nil {
		t.Fatal(err)
	}
	got := splitPre{m: m, behavior: splitRemoved, invert: true}.split(nil, "ab, cd!", true)
	if want := []string{"ab", "cd"}; !slices.Equal(got, want) {
		t.Errorf("invert: got %q, want %q", got, want)
	}
}

func TestPreTokenizers(t *testing.T) {
	parse := func(js string) preTokenizer {
		p, err := parsePreTokenizer(json.RawMessage(js), "pre_tokenizer", newByteLevelAlphabet())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, json, in string
		first          bool
		want           []string
	}{
		{"metaspace always", `{"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true}`, "Hey friend!", false, []string{"▁Hey", "▁friend!"}},
		{"metaspace first, not at start", `{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}`, "Hey friend", false, []string{"Hey▁friend"}},
		{"metaspace first, at start", `{"type":"Metaspace","replacement":"▁","prepend_scheme":"first","split":false}`, "Hey friend", true, []string{"▁Hey▁friend"}},
		{"metaspace legacy add_prefix_space", `{"type":"Metaspace","replacement":"▁","add_prefix_space":false}`, "a b", true, []string{"a", "▁b"}},
		{"bytelevel prefix space", `{"type":"ByteLevel","add_prefix_space":true,"use_regex":true}`, "Hi  there", true, []string{"ĠHi", "Ġ", "Ġthere"}},
		{"digits", `{"type":"Digits","individual_digits":false}`, "a123b4", true, []string{"a", "123", "b", "4"}},
		{"digits individual", `{"type":"Digits","individual_digits":true}`, "a12", true, []string{"a", "1", "2"}},
		{"whitespace split", `{"type":"WhitespaceSplit"}`, " a \tb\n", true, []string{"a", "b"}},
	}
	for _, c := range cases {
		got := parse(c.json).split(nil, c.in, c.first)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q → %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestDecoders(t *testing.T) {
	parse := func(js string) decoder {
		d, err := parseDecoder(json.RawMessage(js), "decoder", newByteLevelAlphabet())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name, json string
		in         []string
		want       []string
	}{
		{"metaspace", `{"type":"Metaspace","replacement":"▁","prepend_scheme":"always"}`, []string{"▁Hey", "▁friend"}, []string{"Hey", " friend"}},
		{"metaspace never", `{"type":"Metaspace","replacement":"▁","prepend_scheme":"never"}`, []string{"▁Hey"}, []string{" Hey"}},
		{"strip both ends", `{"type":"Strip","content":" ","start":2,"stop":1}`, []string{"   a  "}, []string{" a "}},
		{"byte fallback", `{"type":"ByteFallback"}`, []string{"<0x61>", "b", "<0xE2>", "<0x82>"}, []string{"a", "b", "\uFFFD", "\uFFFD"}},
		{"fuse", `{"type":"Fuse"}`, []string{"a", "b"}, []string{"ab"}},
		{"replace regex", `{"type":"Replace","pattern":{"Regex":"x+"},"content":"-"}`, []string{"axxb"}, []string{"a-b"}},
	}
	for _, c := range cases {
		if got := parse(c.json).decodeChain(c.in); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q → %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestLossyUTF8(t *testing.T) {
	// Expected values follow Rust's String::from_utf8_lossy (maximal subparts).
	cases := []struct{ in, want string }{
		{"abc", "abc"},
		{"a\xffb", "a\uFFFDb"},
		{"\xe2\x82", "\uFFFD"},                 // truncated 3-byte sequence: one replacement
		{"\xe2\x82x", "\uFFFDx"},               // the same before ASCII
		{"\xe0\x80\x80", "\uFFFD\uFFFD\uFFFD"}, // overlong: E0 needs A0..BF next
		{"\xf0\x9f\x98", "\uFFFD"},             // truncated emoji
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate
		{"\xc3\xa9\xc3", "é\uFFFD"},
	}
	for _, c := range cases {
		if got := lossyUTF8([]byte(c.in)); got != c.want {
			t.Errorf("lossyUTF8(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMetaChunker(t *testing.T) {
	c := metaChunker{metaSymbol}
	got := c.split(nil, "▁Hello▁▁world▁x▁▁▁", true)
	if want := []string{"▁Hello", "▁▁world", "▁x", "▁▁▁"}; !slices.Equal(got, want) {
		t.Errorf("split = %q, want %q", got, want)
	}
	if got := c.split(nil, "ab▁", true); !slices.Equal(got, []string{"ab", "▁"}) {
		t.Errorf("split(ab▁) = %q", got)
	}
	// A vocabulary token with ▁ after another character makes chunking unsafe.
	unsafe := &bpe{vocab: map[string]int{"▁": 0, "a▁b": 1}}
	if newMetaChunker(unsafe) != nil {
		t.Error("chunker used with token a▁b in the vocabulary")
	}
	safe := &bpe{vocab: map[string]int{"▁": 0, "▁▁a": 1, "b": 2}}
	if newMetaChunker(safe) == nil {
		t.Error("chunker not used with a safe vocabulary")
	}
}
