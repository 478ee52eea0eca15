package domains

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Item is one text of a domain, or one sequence of token ids.
type Item struct {
	Source string // where it came from, for messages: "a.txt:3", "b.jsonl:12", "dir/x.go"
	Text   string // the text to tokenize (when IDs is nil)
	IDs    []int  // token ids to use exactly as given: no BOS added, no truncation
}

// format is how a source stores its items.
type format uint8

const (
	formatText  format = iota // .txt: blank-line separated blocks
	formatJSONL               // .jsonl: one object per line
	formatDir                 // a directory: one text per file
	formatItems               // items held in memory
)

// span is where one item of a .txt or .jsonl source lies.
type span struct {
	off, end int64 // bytes [off, end) of the source
	line     int   // 1-based line where the item starts
}

// Source is a domain's items, indexed once and read back one at a time. Open
// checks a whole file or directory in a single streaming pass and keeps only
// where each item lies (a few words per item), so a domain of any size costs
// memory for its index, never for its texts.
type Source struct {
	name   string // the path, or a label such as "builtin:prose", for messages
	format format
	open   func() (io.ReaderAt, func() error, error) // formatText, formatJSONL: the source's bytes
	spans  []span                                    // formatText, formatJSONL: one per item
	files  []string                                  // formatDir: one per item, in lexical order
	items  []Item                                    // formatItems
	texts  int                                       // items that are texts (not token ids)
	digest [sha256.Size]byte                         // of the contents, see Digest
}

// Open indexes the items of path: a .txt or .jsonl file or a directory. Every
// item is checked (UTF-8, JSON shape, token ids), so that a bad line is
// reported before any analysis starts.
func Open(path string) (*Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("domains: %w", err)
	}
	if st.IsDir() {
		return openDir(path)
	}
	var f format
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt":
		f = formatText
	case ".jsonl":
		f = formatJSONL
	default:
		return nil, fmt.Errorf("domains: %s: unsupported file type %q (want .txt, .jsonl or a directory)", path, filepath.Ext(path))
	}
	open := func() (io.ReaderAt, func() error, error) {
		fh, err := os.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("domains: %w", err)
		}
		return fh, fh.Close, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("domains: %w", err)
	}
	defer fh.Close()
	return index(path, f, fh, open)
}

// parse indexes an in-memory .txt or .jsonl file.
func parse(name string, f format, data []byte) (*Source, error) {
	open := func() (io.ReaderAt, func() error, error) {
		return bytes.NewReader(data), func() error { return nil }, nil
	}
	return index(name, f, bytes.NewReader(data), open)
}

// index reads r once, hashing it and recording where each item lies.
func index(name string, f format, r io.Reader, open func() (io.ReaderAt, func() error, error)) (*Source, error) {
	s := &Source{name: name, format: f, open: open}
	h := sha256.New()
	var err error
	if f == formatText {
		s.spans, err = indexText(name, io.TeeReader(r, h))
		s.texts = len(s.spans)
	} else {
		s.spans, s.texts, err = indexJSONL(name, io.TeeReader(r, h))
	}
	if err != nil {
		return nil, err
	}
	h.Sum(s.digest[:0])
	return s, nil
}

// FromItems makes a source of items held in memory (a --text or --ids
// input, or items built by a program).
func FromItems(name string, items []Item) *Source {
	s := &Source{name: name, format: formatItems, items: items}
	h := sha256.New()
	var n [8]byte
	for _, it := range items {
		if it.IDs == nil {
			s.texts++
			binary.LittleEndian.PutUint64(n[:], uint64(len(it.Text)))
			h.Write([]byte{'t'})
			h.Write(n[:])
			io.WriteString(h, it.Text)
			continue
		}
		binary.LittleEndian.PutUint64(n[:], uint64(len(it.IDs)))
		h.Write([]byte{'i'})
		h.Write(n[:])
		for _, id := range it.IDs {
			binary.LittleEndian.PutUint64(n[:], uint64(id))
			h.Write(n[:])
		}
	}
	h.Sum(s.digest[:0])
	return s
}

// Len is the number of items.
func (s *Source) Len() int {
	switch s.format {
	case formatDir:
		return len(s.files)
	case formatItems:
		return len(s.items)
	}
	return len(s.spans)
}

// Texts is the number of items that are texts rather than token ids.
func (s *Source) Texts() int { return s.texts }

// Digest is the hex SHA-256 of the source's contents (for a directory, of
// its files' relative names and contents; for items in memory, of the
// items), so that two sources with the same digest give the same items.
func (s *Source) Digest() string { return hex.EncodeToString(s.digest[:]) }

// errStop ends an Each early without an error.
var errStop = errors.New("stop")

// Each reads the items at the given indices (all of them, in order, when
// indices is nil) and calls fn with each, one at a time. It stops at the
// first error from fn and returns it. A file that changed since Open is
// reported, not read as something else.
func (s *Source) Each(indices []int, fn func(i int, it Item) error) error {
	if indices == nil {
		indices = make([]int, s.Len())
		for i := range indices {
			indices[i] = i
		}
	}
	var r io.ReaderAt
	if s.format == formatText || s.format == formatJSONL {
		ra, done, err := s.open()
		if err != nil {
			return err
		}
		defer done()
		r = ra
	}
	var buf []byte
	for _, i := range indices {
		if i < 0 || i >= s.Len() {
			return fmt.Errorf("domains: %s: item %d of %d", s.name, i, s.Len())
		}
		var it Item
		var err error
		switch s.format {
		case formatItems:
			it = s.items[i]
		case formatDir:
			it, err = readFile(s.files[i], true)
		default:
			sp := s.spans[i]
			if n := int(sp.end - sp.off); cap(buf) < n {
				buf = make([]byte, n)
			}
			buf = buf[:sp.end-sp.off]
			if _, err := r.ReadAt(buf, sp.off); err != nil {
				return fmt.Errorf("domains: %s:%d: %v (did the file change since it was read?)", s.name, sp.line, err)
			}
			if s.format == formatText {
				it, err = textItem(s.name, sp, buf)
			} else {
				it, err = jsonItem(fmt.Sprintf("%s:%d", s.name, sp.line), buf)
			}
		}
		if err != nil {
			return err
		}
		if err := fn(i, it); err != nil {
			return err
		}
	}
	return nil
}

// Items reads every item into memory: for small sources and tests.
func (s *Source) Items() ([]Item, error) {
	out := make([]Item, 0, s.Len())
	err := s.Each(nil, func(_ int, it Item) error {
		out = append(out, it)
		return nil
	})
	return out, err
}
