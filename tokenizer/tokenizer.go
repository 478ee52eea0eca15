// Package tokenizer reads Hugging Face tokenizer.json files and encodes and
// decodes text with the exact semantics of the Hugging Face tokenizers
// library for BPE models: SentencePiece-style BPE with byte fallback (Llama 2,
// stories260K, Phi-3) and byte-level BPE with the GPT-2 regex (GPT-2,
// GPT-NeoX, OLMo), the cl100k-style regex (Llama 3, OLMo 2) or its
// single-digit variant (Qwen2.5, Qwen3). Merges may be "left right" strings
// or [left, right] pairs (the newer format, Qwen3's).
//
// Encoding runs the same pipeline as Hugging Face: added tokens are matched
// in the raw text (leftmost-longest), the rest is normalized, tokens marked
// normalized are matched in the normalized text, the pre-tokenizer splits it
// into words, the BPE model merges each word, and the post-processor adds
// special tokens when asked to. Token ids are the contract: they must equal
// the reference library's, byte for byte.
//
// Supported tokenizer.json components: model BPE (byte_fallback, fuse_unk,
// ignore_merges, continuing_subword_prefix, end_of_word_suffix; no dropout);
// normalizers Sequence, Prepend, Replace, NFC, NFD, NFKC, NFKD, Lowercase;
// pre-tokenizers Sequence, Split, ByteLevel, Metaspace, Digits,
// WhitespaceSplit; post-processors Sequence, ByteLevel, TemplateProcessing,
// BertProcessing, RobertaProcessing; decoders Sequence, ByteLevel, Replace,
// ByteFallback, Fuse, Strip, Metaspace. Anything else (Unigram or WordPiece
// models, the Precompiled normalizer, ...) is a load error naming the field.
//
// A Tokenizer is safe for concurrent use.
package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tokenizer encodes text to token ids and decodes ids to text.
type Tokenizer struct {
	name     string
	model    *bpe
	added    []addedToken // ids assigned as Hugging Face does
	rawTrie  *trie        // added tokens with normalized=false, matched in the raw text
	normTrie *trie        // added tokens with normalized=true, matched after normalization
	norm     normalizer
	pre      preTokenizer
	post     postProcessor
	dec      decoder
	tokens   []string // id -> token string
	hasToken []bool
	bos      int
	hasBOS   bool
	bosAuto  bool // BOSAuto prepends the BOS
}

// fileJSON is the top level of tokenizer.json.
type fileJSON struct {
	Version       *string         `json:"version"`
	AddedTokens   []addedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"` // only when not an object
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
}

// Load reads a tokenizer.json file. A tokenizer_config.json in the same
// directory, if present, supplies the BOS token when the post-processor
// does not define one.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	cdata, err := os.ReadFile(cfg)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if err := t.applyConfig(cfg, cdata); err != nil {
		return nil, err
	}
	return t, nil
}

// Parse builds a tokenizer from the contents of a tokenizer.json; name is
// used in error messages.
func Parse(name string, data []byte) (t *Tokenizer, err error) {
	defer func() { // a normalizer regex on an added token's text (buildIndex)
		if v := recover(); v != nil {
			te, ok := v.(timeoutError)
			if !ok {
				panic(v)
			}
			t, err = nil, fmt.Errorf("tokenizer: %s: added tokens: %w", name, te)
		}
	}()
	f, mj, typ, err := parseFileJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: not a valid tokenizer.json: %w", name, err)
	}
	t, err = build(f, mj, typ)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", name, err)
	}
	t.name = name
	return t, nil
}

func build(f *fileJSON, mj *bpeJSON, typ string) (*Tokenizer, error) {
	if f.Version != nil && *f.Version != "1.0" {
		return nil, fmt.Errorf("version: unknown tokenizer.json version %q (want 1.0)", *f.Version)
	}
	if mj == nil {
		return nil, fmt.Errorf("model: missing")
	}
	switch {
	case typ != "" && typ != "BPE":
		return nil, fmt.Errorf("model.type: unsupported model %q (supported: BPE)", typ)
	case typ == "" && mj.Merges == nil:
		return nil, fmt.Errorf("model.type: missing, and no merges (supported: BPE)")
	}
	if mj.Merges == nil {
		return nil, fmt.Errorf("model.merges: missing")
	}
	model, err := newBPE(mj)
	if err != nil {
		return nil, err
	}
	alphabet := newByteLevelAlphabet()
	t := &Tokenizer{model: model, bos: -1}
	if t.norm, err = parseNormalizer(f.Normalizer, "normalizer"); err != nil {
		return nil, err
	}
	if t.pre, err = parsePreTokenizer(f.PreTokenizer, "pre_tokenizer", alphabet); err != nil {
		return nil, err
	}
	if t.pre == nil {
		t.pre = newMetaChunker(model) // nil unless provably id-preserving
	}
	if t.post, err = parsePostProcessor(f.PostProcessor, "post_processor"); err != nil {
		return nil, err
	}
	if t.dec, err = parseDecoder(f.Decoder, "decoder", alphabet); err != nil {
		return nil, err
	}
	if err := t.addTokens(f.AddedTokens); err != nil {
		return nil, err
	}
	if err := t.buildIndex(); err != nil {
		return nil, err
	}
	if t.post != nil {
		if lead := t.post.leading(); len(lead) > 0 {
			t.bos, t.hasBOS, t.bosAuto = lead[0], true, true
		}
	}
	for _, id := range t.postIDs() {
		if id < 0 || id >= len(t.tokens) || !t.hasToken[id] {
			return nil, fmt.Errorf("post_processor: special token id %d is not in the vocabulary", id)
		}
	}
	return t, nil
}

// postIDs lists the ids the post-processor can add.
func (t *Tokenizer) postIDs() []int {
	if t.post == nil {
		return nil
	}
	return t.post.process(nil)
}

// addTokens assigns ids to the added tokens the way Hugging Face does when
// it loads a file: a token already in the model vocabulary keeps that id,
// the others get consecutive ids after the vocabulary. Special tokens are
// matched before the others of equal length.
func (t *Tokenizer) addTokens(list []addedToken) error {
	next := len(t.model.vocab)
	seen := map[addedToken]bool{}
	byContent := map[string]int{}
	for i, a := range list {
		key := a
		key.ID = 0 // Hugging Face ignores a repeated token whatever its id
		if a.Content == "" || seen[key] {
			continue
		}
		seen[key] = true
		id, ok := byContent[a.Content]
		if !ok {
			id, ok = t.model.vocab[a.Content]
		}
		if !ok {
			id = next
			next++
		}
		if id < 0 {
			return fmt.Errorf("added_tokens[%d]: negative id", i)
		}
		byContent[a.Content] = id
		if id >= next {
			next = id + 1
		}
		a.ID = id
		t.added = append(t.added, a)
	}
	t.rawTrie, t.normTrie = newTrie(), newTrie()
	for _, special := range []bool{true, false} {
		for k, a := range t.added {
			if a.Special != special {
				continue
			}
			if !a.Normalized {
				t.rawTrie.insert(a.Content, k)
				continue
			}
			p := a.Content
			if t.norm != nil {
				p = t.norm.normalize(p)
			}
			t.normTrie.insert(p, k)
		}
	}
	return nil
}

func (t *Tokenizer) buildIndex() error {
	n := 0
	for _, id := range t.model.vocab {
		n = max(n, id+1)
	}
	for _, a := range t.added {
		n = max(n, a.ID+1)
	}
	// Ids index a dense table (and an embedding matrix): reject absurd ones
	// rather than allocate gigabytes for a corrupt file.
	if limit := 4*(len(t.model.vocab)+len(t.added)) + 1024; n > limit {
		return fmt.Errorf("model.vocab: token id %d is far beyond the %d tokens defined", n-1, len(t.model.vocab)+len(t.added))
	}
	t.tokens = make([]string, n)
	t.hasToken = make([]bool, n)
	for tok, id := range t.model.vocab {
		// Two strings with one id: keep the smaller, so the choice is deterministic.
		if !t.hasToken[id] || tok < t.tokens[id] {
			t.tokens[id] = tok
		}
		t.hasToken[id] = true
	}
	for _, a := range t.added {
		t.tokens[a.ID], t.hasToken[a.ID] = a.Content, true
	}
	return nil
}

// applyConfig reads tokenizer_config.json for the BOS token when the
// post-processor adds none.
func (t *Tokenizer) applyConfig(file string, data []byte) error {
	var c struct {
		AddBOSToken *bool           `json:"add_bos_token"`
		BOSToken    json.RawMessage `json:"bos_token"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("tokenizer: %s: %w", file, err)
	}
	if t.hasBOS || isNull(c.BOSToken) {
		return nil
	}
	var content string
	if err := json.Unmarshal(c.BOSToken, &content); err != nil {
		var obj struct {
			Content string `json:"content"`
		}
		if err2 := json.Unmarshal(c.BOSToken, &obj); err2 != nil {
			return fmt.Errorf("tokenizer: %s: bos_token: want a string or {\"content\": ...}: %w", file, err)
		}
		content = obj.Content
	}
	id, ok := t.id(content)
	if !ok {
		return fmt.Errorf("tokenizer: %s: bos_token: %q is not in the vocabulary", file, content)
	}
	t.bos, t.hasBOS = id, true
	t.bosAuto = c.AddBOSToken != nil && *c.AddBOSToken
	return nil
}

// id looks a token string up (added tokens first).
func (t *Tokenizer) id(tok string) (int, bool) {
	for _, a := range t.added {
		if a.Content == tok {
			return a.ID, true
		}
	}
	id, ok := t.model.vocab[tok]
	return id, ok
}

// Encode returns the token ids of text. With addSpecial the post-processor
// adds its special tokens (for Llama 2 and 3: the BOS), as Hugging Face's
// encode(text, add_special_tokens=True) does. A regex match of the
// tokenizer.json that runs past MatchTimeout ends the encoding early: use
// EncodeChecked (or EncodeBOS), which reports it, on untrusted files.
func (t *Tokenizer) Encode(text string, addSpecial bool) []int {
	ids, _ := t.EncodeChecked(text, addSpecial)
	return ids
}

// EncodeChecked is Encode that returns an error when a regex match of the
// tokenizer.json runs past MatchTimeout (a pattern that backtracks
// catastrophically on this text), instead of the ids found so far.
func (t *Tokenizer) EncodeChecked(text string, addSpecial bool) (ids []int, err error) {
	defer func() {
		if v := recover(); v != nil {
			te, ok := v.(timeoutError)
			if !ok {
				panic(v)
			}
			err = fmt.Errorf("tokenizer: %s: %w", t.name, te)
		}
	}()
	var words []string
	for _, sg := range splitAdded(nil, text, true, t.rawTrie, t.added) {
		if sg.id >= 0 {
			ids = append(ids, sg.id)
			continue
		}
		s := sg.text
		if t.norm != nil {
			s = t.norm.normalize(s)
		}
		for _, sg2 := range splitAdded(nil, s, sg.first, t.normTrie, t.added) {
			if sg2.id >= 0 {
				ids = append(ids, sg2.id)
				continue
			}
			words = words[:0]
			if t.pre != nil {
				words = t.pre.split(words, sg2.text, sg2.first)
			} else {
				words = append(words, sg2.text)
			}
			for _, w := range words {
				ids = t.model.tokenize(ids, w)
			}
		}
	}
	if addSpecial && t.post != nil {
		ids = t.post.process(ids)
	}
	return ids, nil
}

// BOS returns the beginning-of-sequence token: the special token the
// post-processor puts first, else tokenizer_config.json's bos_token.
func (t *Tokenizer) BOS() (id int, ok bool) { return t.bos, t.hasBOS }

// EncodeBOS encodes text without the post-processor's special tokens and
// prepends the BOS by policy p: BOSAuto when the tokenizer adds one itself
// (its post-processor, or add_bos_token in tokenizer_config.json), BOSAlways
// always (an error if the tokenizer has none), BOSNever never.
func (t *Tokenizer) EncodeBOS(text string, p BOSPolicy) ([]int, error) {
	ids, err := t.EncodeChecked(text, false)
	if err != nil {
		return nil, err
	}
	switch p {
	case BOSNever:
		return ids, nil
	case BOSAuto:
		if !t.bosAuto {
			return ids, nil
		}
	case BOSAlways:
		if !t.hasBOS {
			return nil, fmt.Errorf("tokenizer: %s: --bos always: the tokenizer defines no BOS token", t.name)
		}
	default:
		return nil, fmt.Errorf("tokenizer: unknown BOS policy %d", int(p))
	}
	return append([]int{t.bos}, ids...), nil
}

// Token returns the vocabulary string of id ("" if there is none).
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// VocabSize returns one more than the largest token id (model vocabulary and
// added tokens), the number of rows an embedding matrix needs.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Decode returns the text of ids as Hugging Face's decode with
// skip_special_tokens=false: every token, special ones included, through the
// decoder. Unknown ids are skipped.
//
// A regex of the decoder that runs past MatchTimeout leaves the tokens
// undecoded, joined as they are.
func (t *Tokenizer) Decode(ids []int) (text string) {
	toks := make([]string, 0, len(ids))
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(timeoutError); !ok {
				panic(v)
			}
			text = strings.Join(toks, "")
		}
	}()
	for _, id := range ids {
		if id >= 0 && id < len(t.tokens) && t.hasToken[id] {
			toks = append(toks, t.tokens[id])
		}
	}
	if t.dec == nil {
		return strings.Join(toks, " ")
	}
	return strings.Join(t.dec.decodeChain(toks), "")
}
