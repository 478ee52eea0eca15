package loader

import (
	"os"
	"strings"
	"testing"
)

// assertErr fails unless err is non-nil and its message contains every want.
func assertErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\n does not contain %q", err, w)
		}
	}
}

func readAll(path string) ([]byte, error) { return os.ReadFile(path) }
