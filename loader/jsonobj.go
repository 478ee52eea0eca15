package loader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// member is one key/value pair of a JSON object, in file order.
type member struct {
	key string
	raw json.RawMessage
}

// decodeObject decodes data as exactly one JSON object (surrounding whitespace
// allowed) and returns its members in order. Unlike encoding/json, which
// silently keeps the last of two equal keys, a repeated key is an error, and
// so is a key that is not valid UTF-8 (encoding/json would replace the bad
// bytes with U+FFFD and carry on).
func decodeObject(data []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object, found %s", describeToken(tok))
	}
	var out []member
	seen := make(map[string]bool)
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("want an object key, found %s", describeToken(tok))
		}
		end := dec.InputOffset()
		if raw := data[start:end]; !utf8.Valid(raw) {
			return nil, fmt.Errorf("key %s is not valid UTF-8", quoteRaw(raw))
		}
		if seen[key] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("value of %q: %w", key, jsonErr(err))
		}
		out = append(out, member{key, raw})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, jsonErr(err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return nil, fmt.Errorf("after the object: %w", jsonErr(err))
		}
		return nil, fmt.Errorf("unexpected %s after the object", describeToken(tok))
	}
	return out, nil
}

// jsonErr makes a truncated document read as such.
func jsonErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("JSON ends too early")
	}
	return err
}

func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(v))
	case string:
		return fmt.Sprintf("string %q", v)
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T %v", v, v)
	}
}

// quoteRaw quotes raw JSON bytes for an error message, showing invalid bytes
// as \x escapes and cutting long text.
func quoteRaw(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n,")
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	if len(raw) > 80 {
		raw = append(raw[:80:80], "..."...)
	}
	return fmt.Sprintf("%q", raw)
}

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// jsonString decodes a JSON string (null is not one).
func jsonString(raw json.RawMessage, dst *string) error {
	if isNull(raw) {
		return errors.New("null, want a string")
	}
	return json.Unmarshal(raw, dst)
}
