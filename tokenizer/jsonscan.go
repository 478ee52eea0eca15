package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jsonScanner reads the large parts of tokenizer.json (the vocabulary and
// the merges, hundreds of thousands of strings) without reflection: decoding
// them with encoding/json took most of the 0.6 s needed to load Llama 3's
// file. Everything else goes through encoding/json on the value's bytes.
type jsonScanner struct {
	data []byte
	src  string // data as a string: unescaped strings are substrings of it, not copies
	pos  int
}

func newJSONScanner(data []byte) *jsonScanner {
	return &jsonScanner{data: data, src: string(data)}
}

var errJSONEnd = errors.New("unexpected end of JSON")

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *jsonScanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (s *jsonScanner) peek() byte {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

func (s *jsonScanner) expect(c byte) error {
	if s.peek() != c {
		if s.pos >= len(s.data) {
			return errJSONEnd
		}
		return s.errorf("want %q, found %q", c, s.data[s.pos])
	}
	s.pos++
	return nil
}

// str reads a JSON string.
func (s *jsonScanner) str() (string, error) {
	if err := s.expect('"'); err != nil {
		return "", err
	}
	start := s.pos
	escaped := false
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			raw := s.src[start:s.pos]
			s.pos++
			if !escaped && utf8.ValidString(raw) {
				return raw, nil
			}
			var out string
			if err := json.Unmarshal(s.data[start-1:s.pos], &out); err != nil {
				return "", s.errorf("bad string: %v", err)
			}
			return out, nil
		case c == '\\':
			escaped = true
			s.pos += 2
		case c < 0x20:
			return "", s.errorf("control character in string")
		default:
			s.pos++
		}
	}
	return "", errJSONEnd
}

// int reads a JSON integer.
func (s *jsonScanner) int() (int, error) {
	s.skipSpace()
	start := s.pos
	for s.pos < len(s.data) && (s.data[s.pos] == '-' || s.data[s.pos] >= '0' && s.data[s.pos] <= '9') {
		s.pos++
	}
	n, err := strconv.Atoi(string(s.data[start:s.pos]))
	if err != nil {
		return 0, s.errorf("want an integer: %v", err)
	}
	return n, nil
}

// estimate guesses how many elements of about bytesPer bytes each the
// object or array at the current position holds, to size maps and slices.
func (s *jsonScanner) estimate(bytesPer int) int {
	save := s.pos
	defer func() { s.pos = save }()
	v, err := s.skip()
	if err != nil {
		return 0
	}
	return len(v) / bytesPer
}

// skipStr passes over a JSON string without decoding it.
func (s *jsonScanner) skipStr() error {
	s.pos++ // the opening quote
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; {
		case c == '"':
			s.pos++
			return nil
		case c == '\\':
			s.pos += 2
		case c < 0x20:
			return s.errorf("control character in string")
		default:
			s.pos++
		}
	}
	return errJSONEnd
}

// skip passes over one JSON value and returns its bytes.
func (s *jsonScanner) skip() ([]byte, error) {
	s.skipSpace()
	start := s.pos
	depth := 0
	for s.pos < len(s.data) {
		switch c := s.data[s.pos]; c {
		case '"':
			if err := s.skipStr(); err != nil {
				return nil, err
			}
			if depth == 0 {
				return s.data[start:s.pos], nil
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return nil, s.errorf("unbalanced %q", c)
			}
			if depth == 0 {
				s.pos++
				return s.data[start:s.pos], nil
			}
		case ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				return s.data[start:s.pos], nil
			}
		}
		s.pos++
	}
	if depth != 0 {
		return nil, errJSONEnd
	}
	return s.data[start:s.pos], nil
}

// object calls f for every key of an object; f must consume the value.
func (s *jsonScanner) object(f func(key string) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		key, err := s.str()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := f(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		case 0:
			return errJSONEnd
		default:
			return s.errorf("want ',' or '}' after key %q", key)
		}
	}
}

// array calls f for every element of an array; f must consume it.
func (s *jsonScanner) array(f func(i int) error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := f(i); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		case 0:
			return errJSONEnd
		default:
			return s.errorf("want ',' or ']' in array")
		}
	}
}

// parseModelJSON reads the "model" object: vocab and merges by hand, the
// other (small) fields with encoding/json.
func parseModelJSON(s *jsonScanner) (*bpeJSON, string, error) {
	var m bpeJSON
	typ := ""
	rest := map[string]json.RawMessage{}
	err := s.object(func(key string) error {
		switch key {
		case "vocab":
			m.Vocab = make(map[string]int, s.estimate(16))
			return s.object(func(tok string) error {
				id, err := s.int()
				if err != nil {
					return fmt.Errorf("vocab[%q]: %w", tok, err)
				}
				m.Vocab[tok] = id
				return nil
			})
		case "merges":
			m.Merges = make([]mergeJSON, 0, s.estimate(10))
			return parseMerges(s, &m.Merges)
		default:
			v, err := s.skip()
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			rest[key] = v
			return nil
		}
	})
	if err != nil {
		return nil, "", err
	}
	if t, ok := rest["type"]; ok {
		if err := json.Unmarshal(t, &typ); err != nil {
			return nil, "", fmt.Errorf("type: %w", err)
		}
	}
	vocab, merges := m.Vocab, m.Merges
	small, _ := json.Marshal(rest)
	if err := json.Unmarshal(small, &m); err != nil {
		return nil, "", err
	}
	m.Vocab, m.Merges = vocab, merges
	return &m, typ, nil
}

// parseMerges reads model.merges in either of the forms Hugging Face
// accepts: the classic list of "left right" strings (where a "#version"
// header line of merges.txt is skipped and takes no rank) or, in newer files
// such as Qwen3's, a list of [left, right] pairs, whose tokens may contain
// spaces. As in Hugging Face (an untagged enum of the two list types), the
// list must be all of one form, and a pair has exactly two strings.
func parseMerges(s *jsonScanner, dst *[]mergeJSON) error {
	const (
		formUnknown = iota
		formLines
		formPairs
	)
	form := formUnknown
	return s.array(func(i int) error {
		var mg mergeJSON
		var err error
		isPair := s.peek() == '['
		switch {
		case form == formUnknown && isPair:
			form = formPairs
		case form == formUnknown:
			form = formLines
		case isPair != (form == formPairs):
			return fmt.Errorf("merges[%d]: the list mixes \"left right\" strings and [left, right] pairs", i)
		}
		if isPair {
			n := 0
			err = s.array(func(k int) error {
				if k > 1 {
					return fmt.Errorf("want a pair of two tokens, got more")
				}
				var e error
				mg[k], e = s.str()
				n++
				return e
			})
			if err == nil && n != 2 {
				err = fmt.Errorf("want a pair of two tokens, got %d", n)
			}
		} else {
			var line string
			if line, err = s.str(); err == nil {
				if strings.HasPrefix(line, "#version") {
					return nil // a header line of merges.txt, skipped as in Hugging Face
				}
				err = mg.fromLine(line)
			}
		}
		if err != nil {
			return fmt.Errorf("merges[%d]: %w", i, err)
		}
		*dst = append(*dst, mg)
		return nil
	})
}

// parseFileJSON splits tokenizer.json into its top-level fields, parsing the
// model with parseModelJSON.
func parseFileJSON(data []byte) (*fileJSON, *bpeJSON, string, error) {
	s := newJSONScanner(data)
	var f fileJSON
	var model *bpeJSON
	typ := ""
	hasModel := false
	err := s.object(func(key string) error {
		if key == "model" && s.peek() == '{' {
			var err error
			model, typ, err = parseModelJSON(s)
			if err != nil {
				return fmt.Errorf("model: %w", err)
			}
			hasModel = true
			return nil
		}
		v, err := s.skip()
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		var dst any
		switch key {
		case "version":
			dst = &f.Version
		case "added_tokens":
			dst = &f.AddedTokens
		case "normalizer":
			f.Normalizer = v
		case "pre_tokenizer":
			f.PreTokenizer = v
		case "post_processor":
			f.PostProcessor = v
		case "decoder":
			f.Decoder = v
		case "model":
			f.Model = v
		}
		if dst != nil {
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
		return nil
	})
	if err == nil && s.peek() != 0 {
		err = s.errorf("data after the top-level object")
	}
	if err != nil {
		return nil, nil, "", err
	}
	if !hasModel {
		model = nil
	}
	return &f, model, typ, nil
}
