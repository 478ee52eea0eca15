package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/tidy"
	"github.com/sinkscope/sinkscope/tokenizer"
)

func newTokenizeCmd() *cobra.Command {
	var (
		tokFile, text, decode, bos string
	)
	c := &cobra.Command{
		Use:   "tokenize (MODEL | --tokenizer FILE) (--text S | --decode IDS)",
		Short: "Encode text to token ids, or decode ids to text, with a model's tokenizer",
		Long: `tokenize encodes --text with the tokenizer.json of MODEL (a checkpoint directory, or
org/name[@revision] in the Hugging Face cache) or of --tokenizer FILE, with the exact
semantics of the Hugging Face tokenizers library, and prints the ids and their vocabulary
strings. --bos decides the beginning-of-sequence token: auto prepends it when the
tokenizer adds one itself (Llama), always prepends it, never leaves it out. With --decode
it prints the text of comma-separated ids (special tokens included).

JSON output is one object: {"ids": [...], "tokens": [...]} or {"text": "..."}.`,
		Example: `  sinkscope tokenize ./stories260K_hf --text "Once upon a time"
  sinkscope tokenize --tokenizer tokenizer.json --text "Hello world" --bos never --format json
  sinkscope tokenize --tokenizer tokenizer.json --decode 1,15043,3186`,
		Args: models("tokenize", true),
	}
	c.Flags().StringVar(&tokFile, "tokenizer", "", "tokenizer.json file to use instead of a MODEL's")
	c.Flags().StringVar(&text, "text", "", "text to encode")
	c.Flags().StringVar(&decode, "decode", "", "comma-separated token ids to decode")
	c.Flags().StringVar(&bos, "bos", "auto", "beginning-of-sequence token: auto, always or never")
	format := c.Flags().String("format", "table", "output format: table or json")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkFormat(*format, "table", "json"); err != nil {
			return err
		}
		hasText, hasDecode := cmd.Flags().Changed("text"), cmd.Flags().Changed("decode")
		switch {
		case len(args) == 1 && tokFile != "":
			return usagef("tokenize: give MODEL or --tokenizer, not both")
		case len(args) == 0 && tokFile == "":
			return usagef("tokenize: want MODEL or --tokenizer FILE")
		case hasText == hasDecode:
			return usagef("tokenize: want exactly one of --text and --decode")
		}
		policy, err := tokenizer.ParseBOSPolicy(bos)
		if err != nil {
			return usagef("--bos: %v", err)
		}
		var ids []int
		if hasDecode {
			if ids, err = parseIDs("--decode", decode); err != nil {
				return err
			}
		}
		tok, err := openTokenizer(args, tokFile)
		if err != nil {
			return err
		}
		out := cmd.OutOrStdout()
		if hasDecode {
			for _, id := range ids {
				if id >= tok.VocabSize() {
					return usagef("--decode: id %d outside the vocabulary (%d tokens)", id, tok.VocabSize())
				}
			}
			return writeDecoded(out, *format, tok.Decode(ids))
		}
		ids, err = tok.EncodeBOS(text, policy)
		if err != nil {
			return err
		}
		return writeEncoded(out, *format, tok, ids)
	}
	return c
}

// openTokenizer loads --tokenizer FILE, or MODEL's tokenizer.json (MODEL may
// also name a tokenizer.json file directly).
func openTokenizer(args []string, file string) (*tokenizer.Tokenizer, error) {
	if file != "" {
		return tokenizer.Load(file)
	}
	if st, err := os.Stat(args[0]); err == nil && st.Mode().IsRegular() {
		return tokenizer.Load(args[0])
	}
	ck, err := loader.Open(args[0])
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	return ck.Tokenizer()
}

func writeEncoded(w io.Writer, format string, tok *tokenizer.Tokenizer, ids []int) error {
	tokens := make([]string, len(ids))
	for i, id := range ids {
		tokens[i] = tok.Token(id)
	}
	if format == "json" {
		return writeJSON(w, struct {
			IDs    []int    `json:"ids"`
			Tokens []string `json:"tokens"`
		}{append([]int{}, ids...), tokens})
	}
	r := tidy.Table{Fields: []string{"position", "id", "token"}}
	for i, id := range ids {
		r.Add(i, id, strconv.Quote(tokens[i]))
	}
	return r.Write(w, format)
}

func writeDecoded(w io.Writer, format, text string) error {
	if format == "json" {
		return writeJSON(w, struct {
			Text string `json:"text"`
		}{text})
	}
	r := tidy.Table{Fields: []string{"text"}}
	r.Add(strconv.Quote(text))
	return r.Write(w, format)
}

// writeJSON writes v as one line of JSON without HTML escaping (so "<s>"
// stays readable).
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
