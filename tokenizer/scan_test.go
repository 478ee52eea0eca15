package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
)

func newRegexp2(tb testing.TB, pattern string) regexp2Matcher {
	tb.Helper()
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		tb.Fatal(err)
	}
	return regexp2Matcher{re}
}

// scanAlphabet mixes the character classes the regexes distinguish.
var scanAlphabet = []string{
	"a", "Z", "é", "ß", "Ж", "日", "ก", "\u0e31", // letters (and a Thai vowel sign, Mn: not a letter)
	"0", "7", "½", "٣", "Ⅻ", "²", "𝟘", // numbers
	" ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085", "\u000b", "\u200b", // whitespace (and ZWSP, not whitespace)
	".", "!", "'", "-", "🦙", "😁", "$", "\u0301", // other
	"'s", "'S", "'re", "'RE", "'Ve", "'ll", "'LL", "'d", "'M", "'t", "'x",
	// Not "'ſ": Oniguruma's (?i) folds ſ to s, regexp2's does not (see
	// TestScannerCases).
}

func randomScanText(r *rand.Rand, n int) string {
	var sb strings.Builder
	for range n {
		sb.WriteString(scanAlphabet[r.IntN(len(scanAlphabet))])
	}
	return sb.String()
}

// TestScannersMatchRegexp2 checks the hand-written scanners against a
// backtracking regex engine on random strings; the spans must be identical.
func TestScannersMatchRegexp2(t *testing.T) {
	for _, pattern := range []string{gpt2Pattern, cl100kPattern, qwen2Pattern} {
		hand, err := newRegexMatcher(pattern)
		if err != nil {
			t.Fatal(err)
		}
		generic := newRegexp2(t, pattern)
		r := rand.New(rand.NewPCG(1, 2))
		mismatches := 0
		const n = 3000
		for i := range n {
			s := randomScanText(r, 1+i%40)
			got, want := hand.find(s, nil), generic.find(s, nil)
			if !slices.Equal(got, want) {
				mismatches++
				if mismatches <= 5 {
					t.Errorf("pattern %.20q… on %q:\n hand    %v\n regexp2 %v", pattern, s, got, want)
				}
			}
		}
		if mismatches > 0 {
			t.Errorf("%d/%d strings differ", mismatches, n)
		}
	}
}

func TestScannerCases(t *testing.T) {
	cases := []struct {
		pattern, in string
		want        []string
	}{
		{gpt2Pattern, "Hello world", []string{"Hello", " world"}},
		{gpt2Pattern, "   Hello", []string{"  ", " Hello"}},
		{gpt2Pattern, "a  \n", []string{"a", "  \n"}},
		{gpt2Pattern, "I'll 123", []string{"I", "'ll", " 123"}},
		{gpt2Pattern, "I'LL", []string{"I", "'", "LL"}},
		{cl100kPattern, "I'LL 12345", []string{"I", "'LL", " ", "123", "45"}},
		{cl100kPattern, "  \n\n x", []string{"  \n\n", " x"}},
		{cl100kPattern, "...\n\nfoo", []string{"...\n\n", "foo"}},
		{cl100kPattern, "\tabc", []string{"\tabc"}},
		{cl100kPattern, "x   ", []string{"x", "   "}},
		{cl100kPattern, "x   y", []string{"x", "  ", " y"}},
		{cl100kPattern, "'ſ", []string{"'ſ"}}, // Unicode case folding, as Oniguruma
		// The spans below were checked against Oniguruma (libonig 6.9), the
		// engine of Hugging Face tokenizers.
		{cl100kPattern, "'ſx", []string{"'ſ", "x"}}, // regexp2 gives "'ſx"
		{qwen2Pattern, "'ſx", []string{"'ſ", "x"}},
		{qwen2Pattern, "I'LL 12345", []string{"I", "'LL", " ", "1", "2", "3", "4", "5"}},
		{qwen2Pattern, "𝟘²x", []string{"𝟘", "²", "x"}},
		{qwen2Pattern, "  \n\n x", []string{"  \n\n", " x"}},
		{qwen2Pattern, "a\u00a0\u00a0b", []string{"a", "\u00a0", "\u00a0b"}},
		{qwen2Pattern, "x   y", []string{"x", "  ", " y"}},
		{qwen2Pattern, "$12", []string{"$", "1", "2"}},
	}
	for _, c := range cases {
		m, err := newRegexMatcher(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sp := range m.find(c.in, nil) {
			got = append(got, c.in[sp[0]:sp[1]])
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q, want %q", c.in, got, c.want)
		}
	}
}

// TestKnownPatternsUseScanners: the byte-level regexes of the fixture
// families (GPT-2, Llama 3, Qwen2) get a hand-written scanner, not regexp2.
func TestKnownPatternsUseScanners(t *testing.T) {
	for _, p := range []string{gpt2Pattern, cl100kPattern, qwen2Pattern} {
		m, err := newRegexMatcher(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(scanMatcher); !ok {
			t.Errorf("%.30q…: matcher %T, want scanMatcher", p, m)
		}
	}
}
