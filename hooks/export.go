package hooks

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Names returns the names of the captured points, sorted.
func (c Cache) Names() []string {
	names := make([]string, 0, len(c))
	for p := range c {
		names = append(names, p.String())
	}
	sort.Strings(names)
	return names
}

// byName returns the tensor captured at the point named name.
func (c Cache) byName(name string) Tensor {
	p, _ := Parse(name)
	return c[p]
}

// Dump is the tensors of one forward pass with its input, as
// `sinkscope dump` writes them.
type Dump struct {
	Model   string   // the model argument
	IDs     []int    // the input token ids
	Tokens  []string // their token strings; nil without a tokenizer
	Tensors Cache
}

// WriteJSON writes d as {"input_ids": [...], "model": ..., "tensors": {NAME:
// {"data": [...], "shape": [...]}}, "tokens": [...] or null}, keys sorted,
// data flattened row-major with NaN and ±Inf as null, streaming the floats.
func (d Dump) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	b := make([]byte, 0, 64)
	bw.WriteString(`{"input_ids":[`)
	for i, id := range d.IDs {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(strconv.Itoa(id))
	}
	bw.WriteString(`],"model":`)
	bw.WriteString(jsonText(d.Model))
	bw.WriteString(`,"tensors":{`)
	for i, name := range d.Tensors.Names() {
		t := d.Tensors.byName(name)
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(jsonText(name))
		bw.WriteString(`:{"data":[`)
		for j, v := range t.Data {
			if j > 0 {
				bw.WriteByte(',')
			}
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				bw.WriteString("null")
				continue
			}
			b = strconv.AppendFloat(b[:0], float64(v), 'g', -1, 32)
			bw.Write(b)
		}
		bw.WriteString(`],"shape":[`)
		for j, s := range t.Shape {
			if j > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(strconv.Itoa(s))
		}
		bw.WriteString(`]}`)
	}
	bw.WriteString(`},"tokens":`)
	if d.Tokens == nil {
		bw.WriteString("null")
	} else {
		bw.WriteByte('[')
		for i, s := range d.Tokens {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(jsonText(s))
		}
		bw.WriteByte(']')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// jsonText returns s as a JSON string, with <, > and & left as they are
// (token strings such as "<s>" stay readable).
func jsonText(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// WriteNPZ writes a zip (stored, not compressed) of NAME.npy files, one per
// tensor in name order, which numpy.load opens as a mapping from NAME to
// array.
func (c Cache) WriteNPZ(w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, name := range c.Names() {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		if err != nil {
			return err
		}
		if err := WriteNPY(fw, c.byName(name)); err != nil {
			return err
		}
	}
	return zw.Close()
}

// WriteNPY writes t as a float32 array in the .npy format version 1.0:
// magic, version, a little-endian uint16 header length, a Python-literal
// header dict padded with spaces and a newline to a multiple of 64 bytes,
// then the data, little-endian, C order.
func WriteNPY(w io.Writer, t Tensor) error {
	dims := make([]string, len(t.Shape))
	for i, s := range t.Shape {
		dims[i] = strconv.Itoa(s)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(t.Shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }"
	const prefix = 10 // magic (6) + version (2) + header length (2)
	pad := 64 - (prefix+len(dict)+1)%64
	if pad == 64 {
		pad = 0
	}
	header := dict + strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf("npy: shape %v: header too long", t.Shape)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	var b [4]byte
	for _, v := range t.Data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}
