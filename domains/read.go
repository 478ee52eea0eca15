package domains

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Item is one text of a domain, or one sequence of token ids.
type Item struct {
	Source string // where it came from, for messages: "a.txt block 3", "b.jsonl:12", "dir/x.go"
	Text   string // the text to tokenize (when IDs is nil)
	IDs    []int  // token ids to use exactly as given: no BOS added, no truncation
}

// Read loads the items of path: a .txt or .jsonl file or a directory.
func Read(path string) ([]Item, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("domains: %w", err)
	}
	if st.IsDir() {
		return readDir(path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("domains: %w", err)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt":
		return ParseText(path, data)
	case ".jsonl":
		return ParseJSONL(path, data)
	}
	return nil, fmt.Errorf("domains: %s: unsupported file type %q (want .txt, .jsonl or a directory)", path, filepath.Ext(path))
}

// ParseText splits data into blank-line separated blocks, one text each.
// Lines keep their newlines; blank lines around a block are dropped.
func ParseText(name string, data []byte) ([]Item, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("domains: %s: not valid UTF-8 text (line %d)", name, badLine(data))
	}
	var items []Item
	var block []string
	start := 0
	flush := func() {
		if len(block) > 0 {
			items = append(items, Item{Source: fmt.Sprintf("%s:%d", name, start), Text: strings.Join(block, "\n")})
			block = block[:0]
		}
	}
	for i, line := range strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		if len(block) == 0 {
			start = i + 1
		}
		block = append(block, line)
	}
	flush()
	return items, nil
}

// jsonLine is one line of a .jsonl domain file.
type jsonLine struct {
	Text *string `json:"text"`
	IDs  []int   `json:"ids"`
}

// ParseJSONL reads one JSON object per non-blank line, with a "text" string
// or an "ids" array of non-negative token ids.
func ParseJSONL(name string, data []byte) ([]Item, error) {
	var items []Item
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<30)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, n)
		if !utf8.Valid(line) {
			return nil, fmt.Errorf("domains: %s: not valid UTF-8", where)
		}
		var jl jsonLine
		dec := json.NewDecoder(bytes.NewReader(line))
		if err := dec.Decode(&jl); err != nil {
			return nil, fmt.Errorf("domains: %s: %v (want one JSON object per line with \"text\" or \"ids\")", where, err)
		}
		switch {
		case jl.Text != nil && jl.IDs != nil:
			return nil, fmt.Errorf("domains: %s: both \"text\" and \"ids\"; give one", where)
		case jl.IDs != nil:
			for i, id := range jl.IDs {
				if id < 0 {
					return nil, fmt.Errorf("domains: %s: ids[%d] = %d is negative", where, i, id)
				}
			}
			items = append(items, Item{Source: where, IDs: jl.IDs})
		case jl.Text != nil:
			items = append(items, Item{Source: where, Text: *jl.Text})
		default:
			return nil, fmt.Errorf("domains: %s: no \"text\" string or \"ids\" array", where)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("domains: %s: %w", name, err)
	}
	return items, nil
}

// readDir reads every regular file under dir, in lexical order of path, one
// text per file. Hidden files and directories are skipped, and so are binary
// files (a NUL byte in the first 8000 bytes); any other file must be UTF-8.
func readDir(dir string) ([]Item, error) {
	var items []Item
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
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
			return nil // a binary file (images, objects) is not a text
		}
		if !utf8.Valid(data) {
			return fmt.Errorf("%s: not valid UTF-8 text (line %d)", p, badLine(data))
		}
		items = append(items, Item{Source: p, Text: string(data)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("domains: %w", err)
	}
	return items, nil
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
