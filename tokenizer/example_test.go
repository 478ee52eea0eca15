package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/sinkscope/sinkscope/tokenizer"
)

// tinyLlama is a minimal tokenizer.json in the layout of Llama 2's: a
// SentencePiece-style BPE that prepends "▁" and adds <s> as the BOS.
const tinyLlama = `{
  "version": "1.0",
  "added_tokens": [
    {"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
  ],
  "normalizer": {"type": "Sequence", "normalizers": [
    {"type": "Prepend", "prepend": "▁"},
    {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
  "pre_tokenizer": null,
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
  "decoder": {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
    {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
  "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": false,
    "vocab": {"<unk>": 0, "<s>": 1, "▁": 2, "h": 3, "i": 4, "hi": 5, "▁hi": 6, "!": 7},
    "merges": ["h i", "▁ hi"]}
}`

func Example() {
	tok, err := tokenizer.Parse("tokenizer.json", []byte(tinyLlama))
	if err != nil {
		log.Fatal(err)
	}
	ids := tok.Encode("hi hi!", true) // with the post-processor's special tokens
	fmt.Println(ids)
	tokens := make([]string, len(ids))
	for i, id := range ids {
		tokens[i] = tok.Token(id)
	}
	fmt.Printf("%q\n", tokens)
	fmt.Printf("%q\n", tok.Decode(ids[1:]))
	// Output:
	// [1 6 6 7]
	// ["<s>" "▁hi" "▁hi" "!"]
	// "hi hi!"
}

func ExampleTokenizer_EncodeBOS() {
	tok, err := tokenizer.Parse("tokenizer.json", []byte(tinyLlama))
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"auto", "always", "never"} {
		p, err := tokenizer.ParseBOSPolicy(name)
		if err != nil {
			log.Fatal(err)
		}
		ids, err := tok.EncodeBOS("hi", p)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, ids)
	}
	// Output:
	// auto [1 6]
	// always [1 6]
	// never [6]
}

func ExampleTokenizer_Decode() {
	tok, err := tokenizer.Parse("tokenizer.json", []byte(tinyLlama))
	if err != nil {
		log.Fatal(err)
	}
	// Special tokens are kept (skip_special_tokens=false); the first "▁" is stripped.
	fmt.Printf("%q\n", tok.Decode([]int{1, 6, 2, 3}))
	// Output:
	// "<s> hi h"
}
