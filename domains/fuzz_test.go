package domains

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// splitBlocks is the plain statement of the .txt format that indexText and
// textItem implement in one streaming pass: normalise CRLF to LF, split into
// lines, and join each run of non-blank lines with "\n".
func splitBlocks(data string) []string {
	var out, block []string
	for _, line := range strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			if len(block) > 0 {
				out = append(out, strings.Join(block, "\n"))
			}
			block = block[:0]
			continue
		}
		block = append(block, line)
	}
	if len(block) > 0 {
		out = append(out, strings.Join(block, "\n"))
	}
	return out
}

// FuzzText checks the streaming .txt reader against splitBlocks, and that
// invalid UTF-8 is always an error naming the file.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "a", "a\n\nb", "\r\n\r\nx\r\ny\r\n \n", "x\r\r\ny\r", "a\n\t\nb\n\n\n", "caf\xe9\n\nok", "\u00a0\n\u2028\nz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		src, err := parse("f.txt", formatText, []byte(data))
		if !utf8.ValidString(data) {
			if err == nil || !strings.Contains(err.Error(), "f.txt: not valid UTF-8") {
				t.Fatalf("invalid UTF-8 %q: error %v", data, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		items, err := src.Items()
		if err != nil {
			t.Fatalf("%q: %v", data, err)
		}
		if got, want := texts(items), splitBlocks(data); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: blocks %q, want %q", data, got, want)
		}
	})
}

// FuzzJSONL: any input gives items or an error naming file and line, never
// a panic, and an accepted file reads back item by item.
func FuzzJSONL(f *testing.F) {
	for _, s := range []string{`{"text": "a"}`, `{"ids": [1, 2]}` + "\n\n" + `{"text": ""}`, `{"ids": [-1]}`, `{"text": 1}`, `{} {}`, "[1]\n", `{"text": "\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		src, err := parse("f.jsonl", formatJSONL, []byte(data))
		if err != nil {
			if !strings.Contains(err.Error(), "f.jsonl:") {
				t.Fatalf("%q: error %v does not name the file and line", data, err)
			}
			return
		}
		items, err := src.Items()
		if err != nil || len(items) != src.Len() {
			t.Fatalf("%q: %d items of %d, error %v", data, len(items), src.Len(), err)
		}
		n := 0
		for _, it := range items {
			if it.IDs == nil {
				n++
			}
		}
		if n != src.Texts() {
			t.Fatalf("%q: %d texts, Texts() = %d", data, n, src.Texts())
		}
	})
}
