package loader

import (
	"fmt"
	"slices"
	"sort"

	"github.com/sinkscope/sinkscope/internal/kernels"
)

// Tensor is one named tensor of a checkpoint. Its data is a read-only view
// into the mapped file (or the in-memory bytes it was opened from), valid until
// the Tensors it came from is closed.
type Tensor struct {
	Name  string // the name it is stored under
	DType DType  // stored element type: F32, F16 or BF16
	Shape []int  // dimensions, outermost first; [] for a scalar
	File  string // the file it was read from

	begin, end int64  // data_offsets within the file's data section
	data       []byte // little-endian elements, len = Len() × DType.Size()
}

// Len is the number of elements (the product of Shape; 1 for a scalar).
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes returns the stored little-endian bytes. Do not modify them: they are
// the mapped file.
func (t *Tensor) Bytes() []byte { return t.data }

// Float32 returns a float32 copy of the elements. BF16 and F16 values convert
// exactly (every one is representable in float32).
func (t *Tensor) Float32() []float32 {
	dst := make([]float32, t.Len())
	if len(dst) > 0 {
		kernels.ToFloat32(dst, t.data, t.DType.Kernel())
	}
	return dst
}

// Matrix returns a 2-D tensor as a zero-copy row-major weight view
// [Shape[0]][Shape[1]] in its stored dtype.
func (t *Tensor) Matrix() (kernels.Weight, error) {
	if len(t.Shape) != 2 {
		return kernels.Weight{}, fmt.Errorf("loader: %s: tensor %q: shape %v is not 2-D", t.File, t.Name, t.Shape)
	}
	return kernels.Weight{DType: t.DType.Kernel(), Rows: t.Shape[0], Cols: t.Shape[1], Data: t.data}, nil
}

// Tensors is the set of tensors of one checkpoint: one safetensors file, or
// the union of the shards of an index.
type Tensors struct {
	byName   map[string]*Tensor
	names    []string          // sorted
	files    []string          // in the order opened
	metadata map[string]string // union of the files' __metadata__
	unmap    []func() error
	maps     []mapping // the memory maps, for Locate and Changed
}

func newTensors() *Tensors {
	return &Tensors{byName: make(map[string]*Tensor), metadata: make(map[string]string)}
}

// Get returns the named tensor.
func (ts *Tensors) Get(name string) (*Tensor, error) {
	if t, ok := ts.byName[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("loader: %s: no tensor %q (%d tensors present)", ts.where(), name, len(ts.names))
}

// Names returns the tensor names in sorted order.
func (ts *Tensors) Names() []string { return slices.Clone(ts.names) }

// Files returns the safetensors files the tensors come from.
func (ts *Tensors) Files() []string { return slices.Clone(ts.files) }

// Metadata returns the string map stored under "__metadata__" (for shards,
// the union; the first file wins on a conflicting key).
func (ts *Tensors) Metadata() map[string]string {
	m := make(map[string]string, len(ts.metadata))
	for k, v := range ts.metadata {
		m[k] = v
	}
	return m
}

// Close releases the mappings. Tensor data must not be used afterwards (the
// views are emptied). Close is idempotent.
func (ts *Tensors) Close() error {
	var first error
	for _, f := range ts.unmap {
		if err := f(); err != nil && first == nil {
			first = err
		}
	}
	ts.unmap = nil
	for _, t := range ts.byName {
		t.data = nil
	}
	return first
}

func (ts *Tensors) where() string {
	switch len(ts.files) {
	case 0:
		return "(no files)"
	case 1:
		return ts.files[0]
	}
	return fmt.Sprintf("%s (+%d more shards)", ts.files[0], len(ts.files)-1)
}

// add merges the tensors of one file; names must be new.
func (ts *Tensors) add(file string, tensors []*Tensor, md map[string]string) {
	ts.files = append(ts.files, file)
	for _, t := range tensors {
		ts.byName[t.Name] = t
		ts.names = append(ts.names, t.Name)
	}
	sort.Strings(ts.names)
	for k, v := range md {
		if _, ok := ts.metadata[k]; !ok {
			ts.metadata[k] = v
		}
	}
}
