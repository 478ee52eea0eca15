package loader

import (
	"fmt"
	"os"
	"time"
	"unsafe"
)

// mapping is one file's memory map, for naming what a faulting address
// belongs to and for noticing that the file changed under the map.
type mapping struct {
	file    string
	base    uintptr // address of the first mapped byte
	size    int
	modTime time.Time // the file's modification time when it was mapped
	onDisk  int64     // the file's size when it was mapped
}

// Locate names what the address addr of a memory fault belongs to: the
// file and, when it falls inside one, the tensor whose data it is. ok is
// false when addr is outside every mapping of ts.
func (ts *Tensors) Locate(addr uintptr) (file, tensor string, ok bool) {
	for _, m := range ts.maps {
		if addr < m.base || addr-m.base >= uintptr(m.size) {
			continue
		}
		for _, name := range ts.names {
			t := ts.byName[name]
			if t.File != m.file || len(t.data) == 0 {
				continue
			}
			b := uintptr(unsafe.Pointer(unsafe.SliceData(t.data)))
			if addr >= b && addr-b < uintptr(len(t.data)) {
				return m.file, name, true
			}
		}
		return m.file, "", true
	}
	return "", "", false
}

// Changed reports the first mapped file whose size or modification time is
// no longer what it was when it was mapped (nil when none changed): results
// computed from a file rewritten underneath are not results of either
// version.
func (ts *Tensors) Changed() error {
	for _, m := range ts.maps {
		st, err := os.Stat(m.file)
		switch {
		case err != nil:
			return fmt.Errorf("loader: %s changed while it was in use: %w", m.file, err)
		case st.Size() != m.onDisk:
			return fmt.Errorf("loader: %s changed while it was in use: %d bytes, was %d", m.file, st.Size(), m.onDisk)
		case !st.ModTime().Equal(m.modTime):
			return fmt.Errorf("loader: %s changed while it was in use: modified %s, was %s",
				m.file, st.ModTime().UTC().Format(time.RFC3339Nano), m.modTime.UTC().Format(time.RFC3339Nano))
		}
	}
	return nil
}

// Describe names the data at a faulting address for an error message:
// "file, tensor NAME", the file alone, or the checkpoint's files when addr
// is in none of its mappings.
func (ts *Tensors) Describe(addr uintptr) string {
	file, tensor, ok := ts.Locate(addr)
	switch {
	case !ok:
		return "loader: " + ts.where()
	case tensor == "":
		return "loader: " + file
	}
	return fmt.Sprintf("loader: %s, tensor %q", file, tensor)
}
