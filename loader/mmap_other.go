//go:build !unix

package loader

import (
	"fmt"
	"io"
	"os"
)

// mapFile reads the first size bytes of f into memory: the portable fallback
// where there is no mmap.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if int64(int(size)) != size {
		return nil, nil, fmt.Errorf("%d bytes do not fit this platform's address space", size)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}
