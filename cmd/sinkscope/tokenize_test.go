package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/tokenizer"
)

// tinyTokenizerJSON is a byte-level tokenizer with a BOS template: ids are
// byte values, "ab" = 256, and <bos> = 257.
const tinyTokenizerJSON = `{
 "version": "1.0",
 "added_tokens": [{"id": 257, "content": "<bos>", "special": true, "normalized": false}],
 "normalizer": null,
 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
 "post_processor": {"type": "TemplateProcessing",
   "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
   "special_tokens": {"<bos>": {"id": "<bos>", "ids": [257], "tokens": ["<bos>"]}}},
 "decoder": {"type": "ByteLevel"},
 "model": {"type": "BPE", "vocab": VOCAB, "merges": ["a b"]}
}`

func writeTinyTokenizer(t *testing.T) string {
	t.Helper()
	vocab := map[string]int{"ab": 256}
	n := 0
	for b := range 256 {
		printable := b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE
		r := rune(b)
		if !printable {
			r = rune(256 + n)
			n++
		}
		vocab[string(r)] = b
	}
	v, err := json.Marshal(vocab)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, []byte(strings.Replace(tinyTokenizerJSON, "VOCAB", string(v), 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type encodedJSON struct {
	IDs    []int    `json:"ids"`
	Tokens []string `json:"tokens"`
}

func runTokenize(t *testing.T, args ...string) encodedJSON {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(append([]string{"tokenize"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("tokenize %q: exit %d: %s", args, code, errOut.String())
	}
	var got encodedJSON
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("tokenize %q: output is not JSON: %v\n%s", args, err, out.String())
	}
	return got
}

// TestTokenizeMatchesLibrary: the CLI prints exactly the library's ids, and
// the vocabulary string of each.
func TestTokenizeMatchesLibrary(t *testing.T) {
	type tc struct {
		name, file string
		text, bos  string
	}
	tiny := writeTinyTokenizer(t)
	cases := []tc{
		{"tiny never", tiny, "ab ab!", "never"},
		{"tiny auto", tiny, "ab ab!", "auto"},
		{"tiny empty", tiny, "", "always"},
	}
	if fixtures.Dir() != "" {
		for _, f := range []string{
			"tokenizers/llama2/tokenizer.json", "tokenizers/llama3/tokenizer.json",
			"tokenizers/olmo/allenai_dolma2.json", "tokenizers/olmo/allenai_gpt-neox-olmo-dolma-v1_5.json",
			"hf/stories260K_hf/tokenizer.json",
		} {
			for _, bos := range []string{"never", "auto"} {
				cases = append(cases, tc{f + " " + bos, fixtures.Path(t, f), "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～\n\n  x", bos})
			}
		}
	}
	for _, c := range cases {
		tok, err := tokenizer.Load(c.file)
		if err != nil {
			t.Fatal(err)
		}
		policy, _ := tokenizer.ParseBOSPolicy(c.bos)
		want, err := tok.EncodeBOS(c.text, policy)
		if err != nil {
			t.Fatal(err)
		}
		got := runTokenize(t, "--tokenizer", c.file, "--text", c.text, "--bos", c.bos, "--format", "json")
		if !slices.Equal(got.IDs, want) {
			t.Errorf("%s: CLI ids %v, library %v", c.name, got.IDs, want)
		}
		if len(got.Tokens) != len(want) {
			t.Errorf("%s: %d tokens for %d ids", c.name, len(got.Tokens), len(want))
			continue
		}
		for i, id := range want {
			if got.Tokens[i] != tok.Token(id) {
				t.Errorf("%s: token %d = %q, want %q", c.name, i, got.Tokens[i], tok.Token(id))
			}
		}
	}
}

func TestTokenizeTiny(t *testing.T) {
	tiny := writeTinyTokenizer(t)
	// "ab ab!" → "ab", " ab"... " " has no merge with "ab": [ab, space, ab, !].
	got := runTokenize(t, "--tokenizer", tiny, "--text", "ab ab!", "--format", "json")
	if want := []int{257, 256, ' ', 256, '!'}; !slices.Equal(got.IDs, want) {
		t.Errorf("ids %v, want %v", got.IDs, want)
	}
	if want := []string{"<bos>", "ab", "Ġ", "ab", "!"}; !slices.Equal(got.Tokens, want) {
		t.Errorf("tokens %q, want %q", got.Tokens, want)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"tokenize", "--tokenizer", tiny, "--decode", "257, 256,32,256", "--format", "json"}, &out, &errOut); code != 0 {
		t.Fatalf("decode: exit %d: %s", code, errOut.String())
	}
	if got, want := out.String(), "{\"text\":\"<bos>ab ab\"}\n"; got != want {
		t.Errorf("decode output %q, want %q", got, want)
	}
	out.Reset()
	if code := run([]string{"tokenize", "--tokenizer", tiny, "--text", "ab"}, &out, &errOut); code != 0 {
		t.Fatalf("table: exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"position", `"<bos>"`, "257", "256"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestTokenizeModelDir: a MODEL argument uses the checkpoint's tokenizer.json;
// --bos auto prepends Llama's <s> (id 1).
func TestTokenizeModelDir(t *testing.T) {
	dir := fixtures.Path(t, "hf/stories260K_hf")
	got := runTokenize(t, dir, "--text", "Once upon a time", "--format", "json")
	if want := []int{1, 403, 407, 261, 378}; !slices.Equal(got.IDs, want) {
		t.Errorf("ids %v, want %v (run.c's prompt_ids)", got.IDs, want)
	}
}

func TestTokenizeExitCodes(t *testing.T) {
	tiny := writeTinyTokenizer(t)
	noBOS := filepath.Join(t.TempDir(), "nobos.json")
	data, err := os.ReadFile(tiny)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	doc["post_processor"] = nil
	data, _ = json.Marshal(doc)
	if err := os.WriteFile(noBOS, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"tokenize", "--text", "x"}, 2, "want MODEL or --tokenizer"},
		{[]string{"tokenize", "dir", "--tokenizer", tiny, "--text", "x"}, 2, "not both"},
		{[]string{"tokenize", "--tokenizer", tiny}, 2, "exactly one of --text and --decode"},
		{[]string{"tokenize", "--tokenizer", tiny, "--text", "x", "--decode", "1"}, 2, "exactly one of --text and --decode"},
		{[]string{"tokenize", "--tokenizer", tiny, "--text", "x", "--bos", "maybe"}, 2, "--bos"},
		{[]string{"tokenize", "--tokenizer", tiny, "--text", "x", "--format", "csv"}, 2, "--format"},
		{[]string{"tokenize", "--tokenizer", tiny, "--decode", "1,x"}, 2, `"x" is not a token id`},
		{[]string{"tokenize", "--tokenizer", tiny, "--decode", "1,-3"}, 2, `"-3" is not a token id`},
		{[]string{"tokenize", "--tokenizer", tiny, "--decode", "99999"}, 2, "outside the vocabulary"},
		{[]string{"tokenize", "--tokenizer", tiny, "a", "b", "--text", "x"}, 2, "at most one MODEL"},
		{[]string{"tokenize", "--tokenizer", filepath.Join(t.TempDir(), "none.json"), "--text", "x"}, 1, "none.json"},
		{[]string{"tokenize", "--tokenizer", noBOS, "--text", "x", "--bos", "always"}, 1, "defines no BOS"},
	}
	for _, c := range cases {
		var out, errOut bytes.Buffer
		code := run(c.args, &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d with %q", c.args, code, errOut.String(), c.code, c.msg)
		}
	}
}
