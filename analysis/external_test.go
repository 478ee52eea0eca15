package analysis_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/analysis"
)

// externalProgram is a program in a module of its own that runs the head
// analysis through the library, as a researcher's Go code would.
const externalProgram = `package main

import (
	"fmt"
	"log"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/analysis"
)

func main() {
	m, err := analysis.Open(sinkscope.Builtin, 1)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	src, err := analysis.Inputs{SeqLen: 64, MaxSeqs: 4, Seed: 1}.Read()
	if err != nil {
		log.Fatal(err)
	}
	doms, err := src.For(m)
	if err != nil {
		log.Fatal(err)
	}
	rep, err := analysis.Heads(m, doms, analysis.HeadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range rep.Domains {
		fmt.Printf("%s %d %.6f\n", d.Name, d.Result.NSeqs, d.Result.Head(0, 0).FirstAttn)
	}
}
`

// TestExternalModule builds and runs externalProgram in a module outside
// this one (required through a replace directive to this checkout, with no
// network), and checks that it prints what the library computes here.
func TestExternalModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a separate module")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gomod := "module example.com/probe\n\ngo 1.26.0\n\nrequire github.com/sinkscope/sinkscope v0.0.0\n\nreplace github.com/sinkscope/sinkscope => " + root + "\n"
	// The checkout's own requirements, so that nothing is looked up.
	if _, reqs, ok := strings.Cut(string(mod), "\nrequire ("); ok {
		gomod += "\nrequire (" + reqs
	}
	for name, data := range map[string][]byte{"go.mod": []byte(gomod), "go.sum": sum, "main.go": []byte(externalProgram)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goBin, "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run in an outside module: %v\n%s", err, out)
	}
	want := runHere(t)
	if string(out) != want {
		t.Errorf("the outside program printed\n%s\nwant (computed in this test)\n%s", out, want)
	}
}

// runHere is what externalProgram prints, computed in this process.
func runHere(t *testing.T) string {
	t.Helper()
	m, err := analysis.Open(sinkscope.Builtin, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	src, err := analysis.Inputs{SeqLen: 64, MaxSeqs: 4, Seed: 1}.Read()
	if err != nil {
		t.Fatal(err)
	}
	doms, err := src.For(m)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := analysis.Heads(m, doms, analysis.HeadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, d := range rep.Domains {
		fmt.Fprintf(&b, "%s %d %.6f\n", d.Name, d.Result.NSeqs, d.Result.Head(0, 0).FirstAttn)
	}
	return b.String()
}
