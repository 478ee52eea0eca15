package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// TestHFDifferential compares with Hugging Face tokenizers (Rust) on the
// random strings written by testdata/hf_differential.js. Opt-in: set
// SINKSCOPE_TOKENIZER_DIFF to that script's output. Every id must agree
// (exact: ids are discrete), with and without special tokens, and so must
// the decoded text.
func TestHFDifferential(t *testing.T) {
	path := os.Getenv("SINKSCOPE_TOKENIZER_DIFF")
	if path == "" {
		t.Skip("set SINKSCOPE_TOKENIZER_DIFF to the output of testdata/hf_differential.js")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var diff struct {
		Files map[string]string `json:"files"`
		Cases []struct {
			Text    string `json:"text"`
			Results map[string]struct {
				IDs           []int  `json:"ids"`
				IDsSpecial    []int  `json:"ids_special"`
				Decoded       string `json:"decoded"`
				RandomIDs     []int  `json:"random_ids"`
				RandomDecoded string `json:"random_decoded"`
			} `json:"results"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &diff); err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(diff.Files))
	for name := range diff.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			file := diff.Files[name]
			if !filepath.IsAbs(file) { // variants are written outside the fixtures
				file = fixtures.Path(t, file)
			}
			tok, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			var enc, encSpecial, dec, randomDec, fails int
			for i, c := range diff.Cases {
				r := c.Results[name]
				ok := true
				if got := tok.Encode(c.Text, false); slices.Equal(got, r.IDs) || len(got) == 0 && len(r.IDs) == 0 {
					enc++
				} else {
					ok = false
					if fails < 5 {
						t.Errorf("case %d %q:\n got %v\nwant %v", i, c.Text, got, r.IDs)
					}
				}
				if got := tok.Encode(c.Text, true); slices.Equal(got, r.IDsSpecial) || len(got) == 0 && len(r.IDsSpecial) == 0 {
					encSpecial++
				} else {
					ok = false
				}
				if got := tok.Decode(r.IDs); got == r.Decoded {
					dec++
				} else {
					ok = false
					if fails < 5 {
						t.Errorf("case %d decode: got %q, want %q", i, got, r.Decoded)
					}
				}
				if got := tok.Decode(r.RandomIDs); got == r.RandomDecoded {
					randomDec++
				} else {
					ok = false
					if fails < 5 {
						t.Errorf("case %d decode %v: got %q, want %q", i, r.RandomIDs, got, r.RandomDecoded)
					}
				}
				if !ok {
					fails++
				}
			}
			n := len(diff.Cases)
			t.Logf("%s: encode %d/%d, encode+special %d/%d, decode %d/%d, decode of random ids %d/%d",
				name, enc, n, encSpecial, n, dec, n, randomDec, n)
			if fails > 0 {
				t.Errorf("%d/%d strings differ", fails, n)
			}
		})
	}
}
