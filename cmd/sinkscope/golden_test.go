package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGolden pins the bytes of commands on the built-in toy (which needs no
// fixtures) against testdata/*.golden: table format, whose 4 significant
// digits stay the same across kernel paths. Run with -update to rewrite them
// after a deliberate change, and read the diff.
func TestGolden(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"heads_builtin", []string{"heads", "--max-seqs", "6", "--seed", "2"}},
		{"heads_builtin_ahon", []string{"heads", "--max-seqs", "6", "--seed", "2", "--rule", "ahon_ln", "--ablate", "0.0"}},
		{"bbtoy_analyze", []string{"bbtoy", "analyze", "--seqs", "6", "--seed", "2"}},
		{"tokens_builtin", []string{"tokens", "builtin:bbtoy", "--ids", "65,1,2,3,0,4,5,6"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _ := runOK(t, c.args...)
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if out != string(want) {
				t.Errorf("sinkscope %v differs from %s:\n%s", c.args, path, out)
			}
		})
	}
}
