package loader

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// f32Bytes encodes float32 values little-endian.
func f32Bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// bf16Bytes encodes bfloat16 bit patterns little-endian.
func bf16Bytes(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.safetensors")
	in := []WriteTensor{
		{Name: "b.weight", DType: F32, Shape: []int{2, 3}, Data: f32Bytes(1, 2, 3, 4, 5, -6.5)},
		{Name: "a.bias", DType: BF16, Shape: []int{3}, Data: bf16Bytes(0x3f80, 0xc000, 0x7f80)}, // 1, -2, +Inf
		{Name: "c.empty", DType: F16, Shape: []int{0, 4}, Data: nil},
		{Name: "d.scalar", DType: F32, Shape: []int{}, Data: f32Bytes(42)},
		{Name: "e.half", DType: F16, Shape: []int{2}, Data: bf16Bytes(0x3c00, 0xb800)}, // 1, -0.5
	}
	if err := WriteSafetensors(path, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(raw)
	if hlen%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", hlen)
	}
	if raw[8] != '{' {
		t.Errorf("header starts with %q", raw[8])
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after an atomic write, want 1", len(entries))
	}

	ts, err := OpenSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	if got, want := ts.Names(), []string{"a.bias", "b.weight", "c.empty", "d.scalar", "e.half"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if md := ts.Metadata(); md["format"] != "pt" || len(md) != 1 {
		t.Errorf("Metadata() = %v", md)
	}
	for _, w := range in {
		got, err := ts.Get(w.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != w.DType || !slices.Equal(got.Shape, w.Shape) || !bytes.Equal(got.Bytes(), w.Data) {
			t.Errorf("%s: got %s %v % x, want %s %v % x", w.Name, got.DType, got.Shape, got.Bytes(), w.DType, w.Shape, w.Data)
		}
	}
	// Conversions are exact: compare bit patterns.
	b, _ := ts.Get("a.bias")
	for i, want := range []float32{1, -2, float32(math.Inf(1))} {
		if g := b.Float32()[i]; math.Float32bits(g) != math.Float32bits(want) {
			t.Errorf("a.bias[%d] = %v, want %v", i, g, want)
		}
	}
	h, _ := ts.Get("e.half")
	if v := h.Float32(); v[0] != 1 || v[1] != -0.5 {
		t.Errorf("e.half = %v, want [1 -0.5]", v)
	}
	if s, _ := ts.Get("d.scalar"); s.Len() != 1 || s.Float32()[0] != 42 {
		t.Errorf("d.scalar: Len %d, value %v", s.Len(), s.Float32())
	}
	w, _ := ts.Get("b.weight")
	m, err := w.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows != 2 || m.Cols != 3 || len(m.Data) != 24 {
		t.Errorf("Matrix() = %d×%d, %d bytes", m.Rows, m.Cols, len(m.Data))
	}
	row := make([]float32, 3)
	m.Row(1, row)
	if row[0] != 4 || row[2] != -6.5 {
		t.Errorf("Matrix().Row(1) = %v, want [4 5 -6.5]", row)
	}
	if _, err := b.Matrix(); err == nil {
		t.Error("Matrix() of a 1-D tensor: no error")
	}
	if _, err := ts.Get("nope"); err == nil {
		t.Error("Get of a missing tensor: no error")
	}

	// The same bytes through the in-memory path.
	mem, err := OpenSafetensorsBytes("mem", raw)
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := mem.Get("b.weight")
	if !bytes.Equal(mb.Bytes(), w.Bytes()) {
		t.Error("OpenSafetensorsBytes and OpenSafetensors differ")
	}
	if err := ts.Close(); err != nil {
		t.Error(err)
	}
	if err := ts.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestWriteDeterministic(t *testing.T) {
	dir := t.TempDir()
	ts := []WriteTensor{
		{Name: "z", DType: F32, Shape: []int{1}, Data: f32Bytes(1)},
		{Name: "a<&>", DType: F32, Shape: []int{1}, Data: f32Bytes(2)},
	}
	p1, p2 := filepath.Join(dir, "1"), filepath.Join(dir, "2")
	if err := WriteSafetensors(p1, ts, map[string]string{"b": "2", "a": "1"}); err != nil {
		t.Fatal(err)
	}
	ts[0], ts[1] = ts[1], ts[0]
	if err := WriteSafetensors(p2, ts, map[string]string{"a": "1", "b": "2"}); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if !bytes.Equal(b1, b2) {
		t.Errorf("input order changed the file:\n%q\n%q", b1, b2)
	}
	want := `{"__metadata__":{"a":"1","b":"2"},"a<&>":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`
	if got := string(bytes.TrimRight(b1[8:8+binary.LittleEndian.Uint64(b1)], " ")); got != want {
		t.Errorf("header\n got %s\nwant %s", got, want)
	}
}

func TestWriteRejects(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		tensors []WriteTensor
		want    string
	}{
		{"short data", []WriteTensor{{Name: "x", DType: F32, Shape: []int{2}, Data: f32Bytes(1)}}, `tensor "x": 4 data bytes, but shape [2] of F32 needs 8`},
		{"duplicate", []WriteTensor{{Name: "x", DType: F32, Shape: []int{1}, Data: f32Bytes(1)}, {Name: "x", DType: F32, Shape: []int{1}, Data: f32Bytes(1)}}, `tensor "x" given twice`},
		{"dtype", []WriteTensor{{Name: "x", DType: I64, Shape: []int{1}, Data: make([]byte, 8)}}, `dtype I64`},
		{"empty name", []WriteTensor{{DType: F32, Shape: []int{1}, Data: f32Bytes(1)}}, `empty name`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := WriteSafetensors(filepath.Join(dir, c.name), c.tensors, nil)
			assertErr(t, err, c.want)
		})
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed writes left %d files behind", len(ents))
	}
}
