package main

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/loader"
)

// TestTruncatedUnderHeads truncates the weights of a checkpoint while a
// heads process is analysing it (every head ablated: seconds of work): the
// process exits 1 with one error naming the file and the tensor it was
// reading, and no Go stack dump, instead of dying of SIGBUS.
func TestTruncatedUnderHeads(t *testing.T) {
	dir := fixtures.Copy(t, "hf/stories260K_hf")
	weights := filepath.Join(dir, "model.safetensors")
	c := cli(t, nil, "heads", dir, "--ablate", "all", "--max-seqs", "20", "--format", "csv")
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	if err := os.Truncate(weights, 64<<10); err != nil {
		t.Fatal(err)
	}
	stop := time.AfterFunc(60*time.Second, func() { c.Process.Kill() })
	err := c.Wait()
	stop.Stop()
	ee, ok := err.(*exec.ExitError)
	errs := errb.String()
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1:\n%.2000s", err, errs)
	}
	if !strings.Contains(errs, "sinkscope: loader: "+weights+", tensor \"") || !strings.Contains(errs, "truncated while it was mapped") {
		t.Errorf("stderr does not name the file and tensor:\n%s", errs)
	}
	for _, bad := range []string{"goroutine ", "SIGBUS", "panic"} {
		if strings.Contains(errs, bad) {
			t.Errorf("stderr holds %q (a crash, not an error):\n%.3000s", bad, errs)
		}
	}
	if out.Len() != 0 {
		t.Errorf("%d bytes of results printed from a damaged checkpoint", out.Len())
	}
	t.Logf("stderr: %s", strings.TrimSpace(errs))
}

// TestFlippedCacheByte flips one byte of a cached result: the next run
// reports the entry, recomputes it and prints what an uncached run prints.
func TestFlippedCacheByte(t *testing.T) {
	series, _, _ := toySeries(t)
	cache := t.TempDir()
	args := append([]string{"diff", filepath.Join(series, "step100"), filepath.Join(series, "step200"), "--cache", cache}, sweepArgs...)
	want, _ := runOK(t, args...)
	ents, _ := filepath.Glob(filepath.Join(cache, "*.gob"))
	if len(ents) != 2 {
		t.Fatalf("%d cache entries, want 2", len(ents))
	}
	b, err := os.ReadFile(ents[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2+100] ^= 0x04
	os.WriteFile(ents[0], b, 0o644)
	got, errs := runOK(t, args...)
	if got != want {
		t.Errorf("after a flipped byte the run printed other bytes:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(errs, ents[0]+": checksum mismatch") || !strings.Contains(errs, "not trusted (recomputing)") ||
		strings.Count(errs, ": computed") != 1 || strings.Count(errs, ": cached") != 1 {
		t.Errorf("flipped byte not reported and recomputed once:\n%s", errs)
	}
	if _, errs := runOK(t, args...); strings.Count(errs, ": cached") != 2 {
		t.Errorf("the recomputed entry was not stored again:\n%s", errs)
	}
}

// TestFullDisk writes results where the disk is full (/dev/full on
// stdout) or the file may not grow (a 2–4 KiB file-size limit on -o): a clear
// error, exit 1, and no partial file.
func TestFullDisk(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full here: %v", err)
	}
	defer full.Close()
	c := cli(t, nil, "heads", "--max-seqs", "3", "--format", "csv")
	var errb bytes.Buffer
	c.Stdout, c.Stderr = full, &errb
	err = c.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "writing the results to stdout") ||
		!strings.Contains(errb.String(), "no space left on device") {
		t.Errorf("stdout on /dev/full: %v, %s", err, errb.String())
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("no sh for ulimit: %v", err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "heads.csv")
	os.WriteFile(out, []byte("old results\n"), 0o644)
	exe, _ := os.Executable()
	// stories260K's 40 heads make about 12 KB of CSV.
	model := fixtures.Path(t, "hf/stories260K_hf")
	c = exec.Command(sh, "-c", `ulimit -f 4 && exec "$0" "$@"`, exe, "heads", model, "--ids", diffIDs, "--format", "csv", "-o", out)
	c.Env = append(os.Environ(), "SINKSCOPE_RUN_CLI=1")
	errb.Reset()
	c.Stderr = &errb
	err = c.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(errb.String(), "writing "+out) {
		t.Errorf("-o past the file-size limit: %v, %s", err, errb.String())
	}
	if b, _ := os.ReadFile(out); string(b) != "old results\n" {
		t.Errorf("-o holds %q after the failed write, want the old file untouched", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the output directory, want 1 (no temporary file left)", len(ents))
	}
	t.Logf("-o: %s", strings.TrimSpace(errb.String()))
}

// TestNonFiniteActivations plants +Inf in the embedding of one token (403,
// at position 1 of the input): heads stops with an error naming the
// sequence, the layer and the position where the residual stream first
// stops being finite, exit 1. That is layer 0, position 0: the token's value
// vector is NaN after the norm, and attention multiplies it by the zero
// probability position 0 gives the masked key (0 × NaN = NaN, as in PyTorch's
// eager attention).
func TestNonFiniteActivations(t *testing.T) {
	dir := fixtures.Copy(t, "hf/stories260K_hf")
	p := filepath.Join(dir, "model.safetensors")
	ts, err := loader.OpenSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []loader.WriteTensor
	for _, name := range ts.Names() {
		tn, _ := ts.Get(name)
		data := append([]byte(nil), tn.Bytes()...)
		if name == "model.embed_tokens.weight" {
			d := tn.Shape[1]
			binary.LittleEndian.PutUint32(data[4*(403*d+5):], math.Float32bits(float32(math.Inf(1))))
		}
		out = append(out, loader.WriteTensor{Name: name, DType: tn.DType, Shape: tn.Shape, Data: data})
	}
	ts.Close()
	if err := loader.WriteSafetensors(p, out, nil); err != nil {
		t.Fatal(err)
	}
	code, stdout, errs := runCode("heads", dir, "--ids", diffIDs, "--format", "csv")
	want := `domain "input", sequence 1: metrics: forward pass: forward: layer 0: residual stream holds NaN at position 0, dimension 0`
	if code != 1 || stdout != "" || !strings.Contains(errs, want) {
		t.Errorf("exit %d, %d bytes out, stderr %q; want exit 1 and %q", code, len(stdout), errs, want)
	}
}
