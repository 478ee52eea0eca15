package loader

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/sinkscope/sinkscope/internal/atomicfile"
)

// WriteTensor is one tensor to write: little-endian elements of DType in
// row-major order.
type WriteTensor struct {
	Name  string
	DType DType // F32, F16 or BF16
	Shape []int
	Data  []byte // len = product(Shape) × DType.Size()
}

// WriteSafetensors writes a safetensors file atomically: to a temporary file
// in the same directory, synced, then renamed over path. Tensors are stored
// sorted by name, contiguous, and the JSON header is padded with spaces to a
// multiple of 8 bytes so that the data section is 8-byte aligned. metadata
// (may be nil) goes under "__metadata__".
func WriteSafetensors(path string, tensors []WriteTensor, metadata map[string]string) error {
	head, order, err := encodeHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("loader: writing %s: %w", path, err)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(head)))
		w.Write(n[:])
		w.Write(head)
		for _, i := range order {
			if _, err := w.Write(tensors[i].Data); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("loader: %w", err)
	}
	return nil
}

// encodeHeader validates the tensors and returns the padded JSON header and
// the write order (by name).
func encodeHeader(tensors []WriteTensor, metadata map[string]string) ([]byte, []int, error) {
	order := make([]int, len(tensors))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return tensors[order[a]].Name < tensors[order[b]].Name })
	var buf bytes.Buffer
	buf.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, nil, fmt.Errorf("metadata %q: not valid UTF-8", k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(&buf, k)
			buf.WriteByte(':')
			writeJSONString(&buf, metadata[k])
		}
		buf.WriteByte('}')
	}
	var off int64
	for j, i := range order {
		t := &tensors[i]
		switch {
		case t.Name == "":
			return nil, nil, errors.New("tensor with an empty name")
		case t.Name == metadataKey:
			return nil, nil, fmt.Errorf("tensor name %q is reserved", t.Name)
		case !utf8.ValidString(t.Name):
			return nil, nil, fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
		case j > 0 && tensors[order[j-1]].Name == t.Name:
			return nil, nil, fmt.Errorf("tensor %q given twice", t.Name)
		case !t.DType.Supported():
			return nil, nil, fmt.Errorf("tensor %q: dtype %s: want F32, F16 or BF16", t.Name, t.DType)
		}
		n := int64(t.DType.Size())
		for _, d := range t.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			n *= int64(d)
		}
		if int64(len(t.Data)) != n {
			return nil, nil, fmt.Errorf("tensor %q: %d data bytes, but shape %v of %s needs %d", t.Name, len(t.Data), t.Shape, t.DType, n)
		}
		if len(metadata) > 0 || j > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(&buf, t.Name)
		buf.WriteString(`:{"dtype":"`)
		buf.WriteString(t.DType.String())
		buf.WriteString(`","shape":[`)
		for k, d := range t.Shape {
			if k > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Itoa(d))
		}
		fmt.Fprintf(&buf, `],"data_offsets":[%d,%d]}`, off, off+n)
		off += n
	}
	buf.WriteByte('}')
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	return buf.Bytes(), order, nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)               // cannot fail for a string
	buf.Truncate(buf.Len() - 1) // the newline Encode adds
}
