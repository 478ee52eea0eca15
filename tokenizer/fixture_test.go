package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// refEntry is one string of a reference encoding file.
type refEntry struct {
	Text       string  `json:"text"`
	IDs        []int   `json:"ids"`
	IDsWithBOS []int   `json:"ids_with_bos"`
	Decoded    *string `json:"decoded"`
}

// referenceCases pairs every file of fixtures/tokenizers/reference with the
// tokenizer.json that produced it.
var referenceCases = []struct {
	name      string
	tokenizer string // relative to the fixtures directory
	reference string
	withBOS   bool // the reference holds ids_with_bos (encode with special tokens)
	n         int  // strings in the reference
	roundTrip bool // decode(encode(text)) == text for every string (byte-level, or as the reference shows)
}{
	{"llama2-hf", "tokenizers/llama2/tokenizer.json", "tokenizers/reference/llama2_hf_tokenizers_encode.json", false, 46, true},
	{"llama2-sentencepiece", "tokenizers/llama2/tokenizer.json", "tokenizers/reference/llama2_sentencepiece_encode.json", false, 46, true},
	{"stories260K", "hf/stories260K_hf/tokenizer.json", "tokenizers/reference/stories260K_tok512_encode.json", true, 352, false},
	{"llama3", "tokenizers/llama3/tokenizer.json", "tokenizers/reference/llama3_hf_tokenizers_encode.json", false, 46, true},
	{"olmo2-dolma2", "tokenizers/olmo/allenai_dolma2.json", "tokenizers/reference/allenai_dolma2_hf_tokenizers_encode.json", false, 46, true},
	{"olmo-neox-pii", "tokenizers/olmo/allenai_eleuther-ai-gpt-neox-20b-pii-special.json", "tokenizers/reference/allenai_eleuther-ai-gpt-neox-20b-pii-special_hf_tokenizers_encode.json", false, 46, true},
	{"olmo-dolma-v1_5", "tokenizers/olmo/allenai_gpt-neox-olmo-dolma-v1_5.json", "tokenizers/reference/allenai_gpt-neox-olmo-dolma-v1_5_hf_tokenizers_encode.json", false, 46, true},
}

func loadRef(t *testing.T, path string) []refEntry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var refs []refEntry
	if err := json.Unmarshal(data, &refs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return refs
}

// TestReferenceEncodings requires 100% exact ids on every reference string
// (no tolerance: token ids are discrete) and decode == text where the
// reference says so.
func TestReferenceEncodings(t *testing.T) {
	for _, c := range referenceCases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := Load(fixtures.Path(t, c.tokenizer))
			if err != nil {
				t.Fatal(err)
			}
			refs := loadRef(t, fixtures.Path(t, c.reference))
			if len(refs) != c.n {
				t.Fatalf("%d reference strings, want %d", len(refs), c.n)
			}
			exact, decoded, decodeChecked := 0, 0, 0
			for i, r := range refs {
				want := r.IDs
				if c.withBOS {
					want = r.IDsWithBOS
				}
				got := tok.Encode(r.Text, c.withBOS)
				if slices.Equal(got, want) {
					exact++
				} else {
					t.Errorf("string %d %q:\n got %v\nwant %v", i, r.Text, got, want)
				}
				wantText, decodeIDs := "", want
				switch {
				case r.Decoded != nil:
					wantText = *r.Decoded
				case c.roundTrip:
					wantText = r.Text
				case c.withBOS && i < 51:
					// stories260K: decode (without the BOS) returns the text on the
					// 51 hand-written strings (MANIFEST 4b).
					wantText, decodeIDs = r.Text, want[1:]
				default:
					continue
				}
				decodeChecked++
				if got := tok.Decode(decodeIDs); got == wantText {
					decoded++
				} else {
					t.Errorf("decode string %d: got %q, want %q", i, got, wantText)
				}
			}
			t.Logf("%s: %d/%d exact ids, decode %d/%d", c.name, exact, len(refs), decoded, decodeChecked)
		})
	}
}

// readLlamaCppVectors reads llama.cpp's .inp/.out test vectors: strings
// separated by "\n__ggml_vocab_test__\n", one line of ids per string.
func readLlamaCppVectors(t *testing.T, inp, out string) ([]string, [][]int) {
	t.Helper()
	ib, err := os.ReadFile(inp)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Split(string(ib), "\n__ggml_vocab_test__\n")
	if texts[len(texts)-1] == "" {
		texts = texts[:len(texts)-1]
	}
	lines := strings.Split(strings.TrimSuffix(string(ob), "\n"), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d strings but %d id lines", filepath.Base(inp), len(texts), len(lines))
	}
	ids := make([][]int, len(lines))
	for i, l := range lines {
		ids[i] = []int{}
		for _, f := range strings.Fields(l) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s line %d: %v", out, i+1, err)
			}
			ids[i] = append(ids[i], n)
		}
	}
	return texts, ids
}

func TestLlamaCppVectors(t *testing.T) {
	for _, c := range []struct{ tokenizer, inp, out string }{
		{"tokenizers/llama2/tokenizer.json", "tokenizers/llama2/ggml-vocab-llama-spm.gguf.inp", "tokenizers/llama2/ggml-vocab-llama-spm.gguf.out"},
		{"tokenizers/llama3/tokenizer.json", "tokenizers/llama3/ggml-vocab-llama-bpe.gguf.inp", "tokenizers/llama3/ggml-vocab-llama-bpe.gguf.out"},
	} {
		t.Run(filepath.Base(c.inp), func(t *testing.T) {
			tok, err := Load(fixtures.Path(t, c.tokenizer))
			if err != nil {
				t.Fatal(err)
			}
			texts, want := readLlamaCppVectors(t, fixtures.Path(t, c.inp), fixtures.Path(t, c.out))
			if len(texts) != 46 {
				t.Fatalf("%d strings, want 46", len(texts))
			}
			exact := 0
			for i, s := range texts {
				if got := tok.Encode(s, false); slices.Equal(got, want[i]) {
					exact++
				} else {
					t.Errorf("string %d %q:\n got %v\nwant %v", i, s, got, want[i])
				}
			}
			t.Logf("%d/%d exact", exact, len(texts))
		})
	}
}

// TestFixtureBOS pins what --bos auto does per family: Llama prepends its
// template's BOS, the OLMo tokenizers define none.
func TestFixtureBOS(t *testing.T) {
	for _, c := range []struct {
		file    string
		bos     int // -1: none
		vocab   int
		firstID int // first id of EncodeBOS("Hello", BOSAuto)
	}{
		{"hf/stories260K_hf/tokenizer.json", 1, 512, 1},
		{"tokenizers/llama2/tokenizer.json", 1, 32000, 1},
		{"tokenizers/llama3/tokenizer.json", 128000, 128256, 128000},
		{"tokenizers/olmo/allenai_dolma2.json", -1, 100278, 9906},
		{"tokenizers/olmo/allenai_gpt-neox-olmo-dolma-v1_5.json", -1, 50280, 12092},
		{"tokenizers/olmo/allenai_eleuther-ai-gpt-neox-20b-pii-special.json", -1, 50280, 12092},
	} {
		tok, err := Load(fixtures.Path(t, c.file))
		if err != nil {
			t.Fatal(err)
		}
		id, ok := tok.BOS()
		if !ok {
			id = -1
		}
		if id != c.bos {
			t.Errorf("%s: BOS() = %d, want %d", c.file, id, c.bos)
		}
		if got := tok.VocabSize(); got != c.vocab {
			t.Errorf("%s: VocabSize() = %d, want %d", c.file, got, c.vocab)
		}
		ids, err := tok.EncodeBOS("Hello", BOSAuto)
		if err != nil || len(ids) == 0 || ids[0] != c.firstID {
			t.Errorf("%s: EncodeBOS(Hello, auto) = %v, %v; want first id %d", c.file, ids, err, c.firstID)
		}
		_, err = tok.EncodeBOS("Hello", BOSAlways)
		if (err == nil) != (c.bos >= 0) {
			t.Errorf("%s: EncodeBOS(always) error %v, want error only without a BOS", c.file, err)
		}
	}
}

// TestMetaChunkerPreservesIDs encodes 200 kB of Tiny Shakespeare (prose with
// newlines, runs of spaces and punctuation) with Llama 2's tokenizer both
// chunked and as one BPE word, as Hugging Face does: the ids must be equal.
func TestMetaChunkerPreservesIDs(t *testing.T) {
	tok, err := Load(fixtures.Path(t, "tokenizers/llama2/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tok.pre.(metaChunker); !ok {
		t.Fatalf("Llama 2 pre-tokenizer is %T, want metaChunker", tok.pre)
	}
	data, err := os.ReadFile(fixtures.Path(t, "tinyshakespeare/input.txt"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data[:200000])
	chunked := tok.Encode(text, true)
	whole := *tok
	whole.pre = nil
	if got := whole.Encode(text, true); !slices.Equal(got, chunked) {
		t.Fatalf("chunked encoding differs: %d vs %d ids", len(chunked), len(got))
	}
	t.Logf("%d ids identical", len(chunked))
}

// TestShakespearePrompt: the prompt of the shakespeare_llama reference, whose
// ids MANIFEST §7 lists as checked against Hugging Face tokenizers.
func TestShakespearePrompt(t *testing.T) {
	tok, err := Load(fixtures.Path(t, "hf/shakespeare_llama/tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	text := "ROMEO:\nBut soft, what light?\nfunc main() {\n\tx := 1\n\treturn x\n}"
	want := []int{1, 410, 461, 441, 446, 459, 441, 467, 13, 445, 323, 384, 431, 413, 432, 263, 415, 294, 278, 333, 415, 413, 450, 13,
		431, 379, 429, 284, 412, 271, 489, 488, 410, 126, 13, 12, 444, 410, 467, 64, 410, 475, 13, 12, 276, 413, 425, 420, 416, 410, 444, 13, 128}
	got, err := tok.EncodeBOS(text, BOSAuto)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("EncodeBOS = %v, %v\nwant %v", got, err, want)
	}
	if got := tok.Decode(want[1:]); got != text {
		t.Errorf("Decode = %q, want %q", got, text)
	}
}
