package domains

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// lines calls fn with each line of the file name read from r, its newline
// included, and the byte offset where it starts. The last line may lack a
// newline. An error from fn is returned as it is.
func lines(name string, r io.Reader, fn func(n int, off int64, line []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var off int64
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if ferr := fn(n, off, line); ferr != nil {
				return ferr
			}
			off += int64(len(line))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("domains: %s: %w", name, err)
		}
	}
}

// content is line without its line ending: "\n", or "\r\n" (a CRLF file
// reads like an LF one).
func content(line []byte) []byte {
	if c, ok := bytes.CutSuffix(line, []byte("\n")); ok {
		c, _ = bytes.CutSuffix(c, []byte("\r"))
		return c
	}
	return line
}

// indexText finds the blank-line separated blocks of a .txt file. A block
// runs from the start of its first line to the end of its last line's text;
// blank lines (only white space) separate blocks and are never part of one.
func indexText(name string, r io.Reader) ([]span, error) {
	var spans []span
	var cur span
	in := false
	err := lines(name, r, func(n int, off int64, line []byte) error {
		if !utf8.Valid(line) {
			return fmt.Errorf("domains: %s: not valid UTF-8 text (line %d)", name, n)
		}
		c := content(line)
		if len(bytes.TrimSpace(c)) == 0 {
			if in {
				spans = append(spans, cur)
				in = false
			}
			return nil
		}
		if !in {
			cur, in = span{off: off, line: n}, true
		}
		cur.end = off + int64(len(c))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if in {
		spans = append(spans, cur)
	}
	return spans, nil
}

// textItem turns the bytes of a .txt block into its text: lines joined by
// "\n", whatever the file's line endings.
func textItem(name string, sp span, b []byte) (Item, error) {
	if !utf8.Valid(b) {
		return Item{}, fmt.Errorf("domains: %s:%d: not valid UTF-8 text (did the file change since it was read?)", name, sp.line)
	}
	return Item{Source: fmt.Sprintf("%s:%d", name, sp.line), Text: strings.ReplaceAll(string(b), "\r\n", "\n")}, nil
}

// jsonLine is one line of a .jsonl domain file.
type jsonLine struct {
	Text *string `json:"text"`
	IDs  []int   `json:"ids"`
}

// indexJSONL finds the non-blank lines of a .jsonl file and checks each: one
// JSON object with a "text" string or an "ids" array of non-negative ids.
// It also counts the text items.
func indexJSONL(name string, r io.Reader) (spans []span, texts int, err error) {
	err = lines(name, r, func(n int, off int64, line []byte) error {
		c := bytes.TrimSpace(line)
		if len(c) == 0 {
			return nil
		}
		it, err := jsonItem(fmt.Sprintf("%s:%d", name, n), c)
		if err != nil {
			return err
		}
		if it.IDs == nil {
			texts++
		}
		spans = append(spans, span{off: off, end: off + int64(len(line)), line: n})
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return spans, texts, nil
}

// jsonItem decodes one line of a .jsonl file.
func jsonItem(where string, line []byte) (Item, error) {
	if !utf8.Valid(line) {
		return Item{}, fmt.Errorf("domains: %s: not valid UTF-8", where)
	}
	var jl jsonLine
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&jl); err != nil {
		return Item{}, fmt.Errorf("domains: %s: %v (want one JSON object per line with \"text\" or \"ids\")", where, err)
	}
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		return Item{}, fmt.Errorf("domains: %s: more than one JSON value on the line (want one object per line)", where)
	}
	switch {
	case jl.Text != nil && jl.IDs != nil:
		return Item{}, fmt.Errorf("domains: %s: both \"text\" and \"ids\"; give one", where)
	case jl.IDs != nil:
		for i, id := range jl.IDs {
			if id < 0 {
				return Item{}, fmt.Errorf("domains: %s: ids[%d] = %d is negative", where, i, id)
			}
		}
		return Item{Source: where, IDs: jl.IDs}, nil
	case jl.Text != nil:
		return Item{Source: where, Text: *jl.Text}, nil
	}
	return Item{}, fmt.Errorf("domains: %s: no \"text\" string or \"ids\" array", where)
}

// openDir indexes every regular file under dir, in lexical order of path,
// one text per file. Hidden files and directories are skipped, and so are
// binary files (a NUL byte in the first 8000 bytes); any other file must be
// UTF-8. Files are read one at a time and only their names are kept.
func openDir(dir string) (*Source, error) {
	s := &Source{name: dir, format: formatDir}
	h := sha256.New()
	var n [8]byte
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		it, err := readFile(p, false)
		if errors.Is(err, errBinary) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		for _, field := range []string{filepath.ToSlash(rel), it.Text} {
			binary.LittleEndian.PutUint64(n[:], uint64(len(field)))
			h.Write(n[:])
			io.WriteString(h, field)
		}
		s.files = append(s.files, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("domains: %w", err)
	}
	s.texts = len(s.files)
	h.Sum(s.digest[:0])
	return s, nil
}

// errBinary marks a file that is not a text.
var errBinary = errors.New("binary file")

// readFile reads one file of a directory domain as a text. Once the
// directory is indexed (again is true), a file that turned binary or
// invalid is reported as changed.
func readFile(p string, again bool) (Item, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return Item{}, fmt.Errorf("domains: %w", err)
	}
	changed := ""
	if again {
		changed = " (did the file change since it was read?)"
	}
	if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
		if again {
			return Item{}, fmt.Errorf("domains: %s: binary file%s", p, changed)
		}
		return Item{}, errBinary // images, objects: not texts
	}
	if !utf8.Valid(data) {
		return Item{}, fmt.Errorf("domains: %s: not valid UTF-8 text (line %d)%s", p, badLine(data), changed)
	}
	return Item{Source: p, Text: string(data)}, nil
}

// badLine is the 1-based line of the first invalid UTF-8 byte in data.
func badLine(data []byte) int {
	line := 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size <= 1 {
			return line
		}
		if r == '\n' {
			line++
		}
		data = data[size:]
	}
	return line
}
