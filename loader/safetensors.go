package loader

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"unicode/utf8"
	"unsafe"
)

// MaxHeaderBytes bounds the JSON header of a safetensors file (the format's
// own reference implementation uses the same 100 MB limit).
const MaxHeaderBytes = 100 << 20

// metadataKey is the reserved header entry holding string→string metadata.
const metadataKey = "__metadata__"

// OpenSafetensors memory-maps one safetensors file after validating its header
// against the file size: nothing past the end of the file is ever mapped or
// read, so a truncated file is an error rather than a SIGBUS.
func OpenSafetensors(path string) (*Tensors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("loader: %s: not a regular file", path)
	}
	size := st.Size()
	hlen, err := headerLen(path, size, func(p []byte) error { _, err := f.ReadAt(p, 0); return err })
	if err != nil {
		return nil, err
	}
	head := make([]byte, hlen)
	if _, err := f.ReadAt(head, 8); err != nil {
		return nil, fmt.Errorf("loader: %s: reading the %d-byte header: %w", path, hlen, err)
	}
	tensors, md, err := parseHeader(path, head, size-8-hlen)
	if err != nil {
		return nil, err
	}
	data, unmap, err := mapFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("loader: %s: mapping %d bytes: %w", path, size, err)
	}
	attach(tensors, data[8+hlen:])
	ts := newTensors()
	ts.add(path, tensors, md)
	ts.unmap = append(ts.unmap, unmap)
	if len(data) > 0 {
		ts.maps = append(ts.maps, mapping{file: path, base: uintptr(unsafe.Pointer(unsafe.SliceData(data))), size: len(data), modTime: st.ModTime(), onDisk: size})
	}
	return ts, nil
}

// OpenSafetensorsBytes validates data as a safetensors file called name (used
// in error messages) and returns views into it; data must not be modified
// while the tensors are in use.
func OpenSafetensorsBytes(name string, data []byte) (*Tensors, error) {
	tensors, md, err := parseBytes(name, data)
	if err != nil {
		return nil, err
	}
	ts := newTensors()
	ts.add(name, tensors, md)
	return ts, nil
}

func parseBytes(name string, data []byte) ([]*Tensor, map[string]string, error) {
	size := int64(len(data))
	hlen, err := headerLen(name, size, func(p []byte) error { copy(p, data); return nil })
	if err != nil {
		return nil, nil, err
	}
	tensors, md, err := parseHeader(name, data[8:8+hlen], size-8-hlen)
	if err != nil {
		return nil, nil, err
	}
	attach(tensors, data[8+hlen:])
	return tensors, md, nil
}

// headerLen reads and checks the 8-byte little-endian header length of a file
// of the given size.
func headerLen(file string, size int64, read8 func([]byte) error) (int64, error) {
	if size < 8 {
		return 0, fmt.Errorf("loader: %s: file is %d bytes, too short for the 8-byte header length of a safetensors file", file, size)
	}
	var b [8]byte
	if err := read8(b[:]); err != nil {
		return 0, fmt.Errorf("loader: %s: reading header length: %w", file, err)
	}
	n := binary.LittleEndian.Uint64(b[:])
	if n > MaxHeaderBytes {
		return 0, fmt.Errorf("loader: %s: header length %d exceeds the %d-byte limit (not a safetensors file?)", file, n, MaxHeaderBytes)
	}
	if int64(n) > size-8 {
		return 0, fmt.Errorf("loader: %s: header length %d runs past the end of the %d-byte file (truncated?)", file, n, size)
	}
	if n < 2 {
		return 0, fmt.Errorf("loader: %s: header length %d is too short for a JSON object", file, n)
	}
	return int64(n), nil
}

// attach points each tensor at its bytes in the data section.
func attach(tensors []*Tensor, data []byte) {
	for _, t := range tensors {
		t.data = data[t.begin:t.end:t.end]
	}
}

// parseHeader validates a safetensors JSON header for a data section of
// dataLen bytes and returns its tensors (sorted by name) and metadata.
func parseHeader(file string, head []byte, dataLen int64) ([]*Tensor, map[string]string, error) {
	if head[0] != '{' {
		return nil, nil, fmt.Errorf("loader: %s: header does not start with '{' (starts with %q)", file, head[:min(len(head), 16)])
	}
	members, err := decodeObject(head)
	if err != nil {
		return nil, nil, fmt.Errorf("loader: %s: header: %w", file, err)
	}
	if !utf8.Valid(head) {
		off := invalidUTF8(head)
		return nil, nil, fmt.Errorf("loader: %s: header is not valid UTF-8 at byte %d: %q", file, off, head[max(0, off-20):min(len(head), off+20)])
	}
	var md map[string]string
	tensors := make([]*Tensor, 0, len(members))
	for _, m := range members {
		if m.key == metadataKey {
			md, err = parseMetadata(m.raw)
			if err != nil {
				return nil, nil, fmt.Errorf("loader: %s: %s: %w", file, metadataKey, err)
			}
			continue
		}
		t, err := parseEntry(m.key, m.raw, dataLen)
		if err != nil {
			return nil, nil, fmt.Errorf("loader: %s: tensor %q: %w", file, m.key, err)
		}
		t.File = file
		tensors = append(tensors, t)
	}
	// No two tensors may share bytes.
	byOffset := make([]*Tensor, len(tensors))
	copy(byOffset, tensors)
	sort.Slice(byOffset, func(i, j int) bool {
		a, b := byOffset[i], byOffset[j]
		if a.begin != b.begin {
			return a.begin < b.begin
		}
		return a.end < b.end
	})
	// Like the reference reader, the tensors must also tile the data section
	// exactly: a hole or trailing bytes mean a header that does not describe
	// the file it sits in.
	var prev *Tensor // the last tensor so far, which ends at end
	var end int64
	for _, t := range byOffset {
		if t.begin == t.end {
			continue // empty tensors occupy no bytes
		}
		switch {
		case t.begin < end:
			return nil, nil, fmt.Errorf("loader: %s: tensor %q data_offsets [%d,%d] overlap tensor %q [%d,%d]",
				file, t.Name, t.begin, t.end, prev.Name, prev.begin, prev.end)
		case t.begin > end:
			return nil, nil, fmt.Errorf("loader: %s: tensor %q data_offsets [%d,%d] leave a hole of %d bytes after byte %d of the data section (want the tensors contiguous)",
				file, t.Name, t.begin, t.end, t.begin-end, end)
		}
		prev, end = t, t.end
	}
	if end != dataLen {
		return nil, nil, fmt.Errorf("loader: %s: the tensors end at byte %d of the %d-byte data section: %d bytes after them belong to no tensor (want the data section to end with the last tensor)",
			file, end, dataLen, dataLen-end)
	}
	sort.Slice(tensors, func(i, j int) bool { return tensors[i].Name < tensors[j].Name })
	return tensors, md, nil
}

func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	members, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("want an object of strings: %w", err)
	}
	md := make(map[string]string, len(members))
	for _, m := range members {
		var s string
		if err := json.Unmarshal(m.raw, &s); err != nil {
			return nil, fmt.Errorf("key %q: want a string value, got %s", m.key, clip(m.raw))
		}
		md[m.key] = s
	}
	return md, nil
}

// parseEntry validates one tensor entry {"dtype", "shape", "data_offsets"}.
func parseEntry(name string, raw json.RawMessage, dataLen int64) (*Tensor, error) {
	if name == "" {
		return nil, errors.New("empty tensor name")
	}
	members, err := decodeObject(raw)
	if err != nil {
		return nil, fmt.Errorf("want an object with dtype, shape and data_offsets: %w", err)
	}
	var (
		dtype   string
		shape   []int64
		offsets []int64
		have    [3]bool
	)
	for _, m := range members {
		var err error
		switch m.key {
		case "dtype":
			err, have[0] = json.Unmarshal(m.raw, &dtype), true
		case "shape":
			err, have[1] = unmarshalInts(m.raw, &shape), true
		case "data_offsets":
			err, have[2] = unmarshalInts(m.raw, &offsets), true
		default:
			continue // the format allows no other keys, but they are harmless
		}
		if err != nil {
			return nil, fmt.Errorf("field %q: %s is not valid (%v)", m.key, clip(m.raw), err)
		}
	}
	for i, f := range [3]string{"dtype", "shape", "data_offsets"} {
		if !have[i] {
			return nil, fmt.Errorf("missing field %q", f)
		}
	}
	dt, known := ParseDType(dtype)
	switch {
	case !known:
		return nil, fmt.Errorf("unknown dtype %q (sinkscope reads F32, F16 and BF16)", dtype)
	case !dt.Supported():
		return nil, fmt.Errorf("unsupported dtype %s (sinkscope reads F32, F16 and BF16)", dt)
	}
	t := &Tensor{Name: name, DType: dt, Shape: make([]int, len(shape))}
	elems := int64(1)
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("shape %v: dimension %d is negative", shape, i)
		}
		if d != 0 && elems > math.MaxInt64/8/d {
			return nil, fmt.Errorf("shape %v: too many elements", shape)
		}
		elems *= d
		t.Shape[i] = int(d)
	}
	if len(offsets) != 2 {
		return nil, fmt.Errorf("data_offsets %v: want [begin, end]", offsets)
	}
	t.begin, t.end = offsets[0], offsets[1]
	switch {
	case t.begin < 0 || t.end < 0:
		return nil, fmt.Errorf("data_offsets %v are negative", offsets)
	case t.begin > t.end:
		return nil, fmt.Errorf("data_offsets %v: begin after end", offsets)
	case t.end > dataLen:
		return nil, fmt.Errorf("data_offsets %v run past the end of the %d-byte data section (file truncated?)", offsets, dataLen)
	}
	if want := elems * int64(dt.Size()); t.end-t.begin != want {
		return nil, fmt.Errorf("data_offsets %v hold %d bytes, but shape %v of %s needs %d",
			offsets, t.end-t.begin, shape, dt, want)
	}
	return t, nil
}

// unmarshalInts decodes a JSON array of integers (null is not an array).
func unmarshalInts(raw json.RawMessage, dst *[]int64) error {
	if isNull(raw) {
		return errors.New("null, want an array of integers")
	}
	return json.Unmarshal(raw, dst)
}

// clip shortens raw JSON for an error message.
func clip(raw []byte) string {
	if len(raw) > 60 {
		return string(raw[:60]) + "..."
	}
	return string(raw)
}
