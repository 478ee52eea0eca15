//go:build unix

package fault

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// truncatedMap maps a 64 KiB file and truncates it to nothing: every read
// of the map is then a SIGBUS.
func truncatedMap(t *testing.T) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "weights")
	if err := os.WriteFile(p, make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := unix.Mmap(int(f.Fd()), 0, 64<<10, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Skipf("no mmap: %v", err)
	}
	t.Cleanup(func() { unix.Munmap(data) })
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	return data
}

// sum reads every page of data, adding the bytes to *into (so that the
// reads are kept).
func sum(data []byte, into *int) {
	for i := 0; i < len(data); i += 4096 {
		*into += int(data[i])
	}
}

// TestRecover reads a truncated map on the calling goroutine and on worker
// goroutines: both come back as an *Error naming what where says.
func TestRecover(t *testing.T) {
	data := truncatedMap(t)
	where := func(uintptr) string { return "weights, tensor \"w\"" }
	direct := func() (err error) {
		defer Guard()()
		defer Recover(&err, where)
		var n int
		sum(data, &n)
		return nil
	}
	workers := func() (err error) {
		defer Guard()()
		defer Recover(&err, where)
		var wg sync.WaitGroup
		var r Relay
		for range 3 {
			wg.Go(func() {
				defer r.Catch()
				Enable()
				var n int
				sum(data, &n)
			})
		}
		wg.Wait()
		r.Rethrow()
		return nil
	}
	for name, f := range map[string]func() error{"direct": direct, "workers": workers} {
		err := f()
		var fe *Error
		if !errors.As(err, &fe) || fe.Addr == 0 || !strings.Contains(err.Error(), `weights, tensor "w": memory fault at 0x`) {
			t.Errorf("%s: %v, want a fault naming the tensor", name, err)
		}
	}
}

// TestOtherPanics: a panic that is not a memory fault is not swallowed.
func TestOtherPanics(t *testing.T) {
	defer func() {
		if v := recover(); v != "boom" {
			t.Errorf("recovered %v, want the original panic \"boom\"", v)
		}
	}()
	var err error
	func() {
		defer Guard()()
		defer Recover(&err, nil)
		panic("boom")
	}()
	t.Errorf("Recover swallowed a plain panic (err %v)", err)
}
