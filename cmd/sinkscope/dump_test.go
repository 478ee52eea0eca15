package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

type dumpJSON struct {
	Model    string   `json:"model"`
	InputIDs []int    `json:"input_ids"`
	Tokens   []string `json:"tokens"`
	Tensors  map[string]struct {
		Shape []int     `json:"shape"`
		Data  []float32 `json:"data"`
	} `json:"tensors"`
}

func runDump(t *testing.T, args ...string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"dump"}, args...), &stdout, &stderr); code != 0 {
		t.Fatalf("dump %v: exit %d: %s", args, code, stderr.String())
	}
	return stdout.Bytes()
}

// TestDumpJSON checks the JSON schema, the shapes of each kind of tensor and
// a few values (pattern rows sum to 1 and are causal).
func TestDumpJSON(t *testing.T) {
	ckpt := fixtures.Path(t, "hf/stories260K_hf")
	out := runDump(t, ckpt, "--text", "Once upon a time", "--hooks",
		"blocks.*.attn.hook_pattern, hook_logits,blocks.0.attn.hook_v,blocks.4.attn.hook_z,blocks.1.hook_resid_post")
	var d dumpJSON
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatalf("not JSON: %v\n%.300s", err, out)
	}
	// Keys are sorted at every level, as encoding/json writes maps.
	if !regexp.MustCompile(`^\{"input_ids":.*,"model":.*,"tensors":\{"blocks\.0\.attn\.hook_pattern":\{"data":\[`).Match(out) {
		t.Errorf("keys not in sorted order: %.120s", out)
	}
	if !bytes.HasSuffix(out, []byte(`"tokens":["<s>","▁Once","▁upon","▁a","▁time"]}`+"\n")) {
		t.Errorf("tokens not written as plain JSON strings: ...%s", out[max(0, len(out)-80):])
	}
	const T, H, KV, dh, d_model, V = 5, 8, 4, 8, 64, 512
	if !slices.Equal(d.InputIDs, []int{1, 403, 407, 261, 378}) || len(d.Tokens) != T || d.Tokens[0] != "<s>" || d.Model != ckpt {
		t.Errorf("input_ids %v, tokens %q, model %q", d.InputIDs, d.Tokens, d.Model)
	}
	want := map[string][]int{
		"hook_logits":                {T, V},
		"blocks.0.attn.hook_v":       {T, KV, dh},
		"blocks.4.attn.hook_z":       {T, H, dh},
		"blocks.1.hook_resid_post":   {T, d_model},
		"blocks.0.attn.hook_pattern": {H, T, T},
		"blocks.1.attn.hook_pattern": {H, T, T},
		"blocks.2.attn.hook_pattern": {H, T, T},
		"blocks.3.attn.hook_pattern": {H, T, T},
		"blocks.4.attn.hook_pattern": {H, T, T},
	}
	if len(d.Tensors) != len(want) {
		t.Errorf("%d tensors, want %d", len(d.Tensors), len(want))
	}
	for name, shape := range want {
		x, ok := d.Tensors[name]
		n := 1
		for _, s := range shape {
			n *= s
		}
		if !ok || !slices.Equal(x.Shape, shape) || len(x.Data) != n {
			t.Errorf("%s: present %v, shape %v with %d values; want %v", name, ok, x.Shape, len(x.Data), shape)
		}
	}
	p := d.Tensors["blocks.2.attn.hook_pattern"].Data
	for h := 0; h < H; h++ {
		for i := 0; i < T; i++ {
			var sum float64
			for j := 0; j < T; j++ {
				v := p[(h*T+i)*T+j]
				if j > i && v != 0 {
					t.Errorf("head %d: query %d attends to future key %d (%g)", h, i, j, v)
				}
				sum += float64(v)
			}
			if math.Abs(sum-1) > 1e-6 { // float32 softmax of ≤ 5 terms
				t.Errorf("head %d query %d: pattern sums to %g", h, i, sum)
			}
		}
	}
}

// TestDumpNPZ writes .npz and .npy files, parses them back (zip of .npy v1.0
// files, '<f4', C order, header padded to 64 bytes) and checks they hold
// exactly the JSON dump's values.
func TestDumpNPZ(t *testing.T) {
	ckpt := fixtures.Path(t, "hf/stories260K_hf")
	hooksArg := "blocks.*.attn.hook_v,hook_logits"
	var js dumpJSON
	if err := json.Unmarshal(runDump(t, ckpt, "--ids", "1,2,3,300", "--hooks", hooksArg), &js); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	npz := filepath.Join(dir, "x.npz")
	runDump(t, ckpt, "--ids", "1,2,3,300", "--hooks", hooksArg, "-o", npz)
	zr, err := zip.OpenReader(npz)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s: zip method %d, want stored (0)", f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(f.Name, ".npy")
		names = append(names, name)
		shape, data, err := parseNPY(b)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		want := js.Tensors[name]
		if !slices.Equal(shape, want.Shape) || !slices.Equal(data, want.Data) {
			t.Errorf("%s: npz shape %v differs from JSON %v, or its data does", name, shape, want.Shape)
		}
	}
	if len(names) != 6 || !slices.IsSorted(names) {
		t.Errorf("npz holds %v, want the 6 tensors in sorted order", names)
	}

	npy := filepath.Join(dir, "v.npy")
	runDump(t, ckpt, "--ids", "1,2,3,300", "--hooks", "blocks.3.attn.hook_v", "-o", npy)
	b, err := os.ReadFile(npy)
	if err != nil {
		t.Fatal(err)
	}
	shape, data, err := parseNPY(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := js.Tensors["blocks.3.attn.hook_v"]; !slices.Equal(shape, want.Shape) || !slices.Equal(data, want.Data) {
		t.Errorf(".npy shape %v differs from JSON %v, or its data does", shape, want.Shape)
	}
}

// parseNPY reads a version 1.0 little-endian float32 C-order .npy file.
func parseNPY(b []byte) ([]int, []float32, error) {
	if len(b) < 10 || string(b[:8]) != "\x93NUMPY\x01\x00" {
		return nil, nil, fmt.Errorf("bad magic/version %q", b[:min(len(b), 8)])
	}
	hl := int(binary.LittleEndian.Uint16(b[8:10]))
	if (10+hl)%64 != 0 || len(b) < 10+hl || b[10+hl-1] != '\n' {
		return nil, nil, fmt.Errorf("header length %d: not padded to 64 bytes with a final newline", hl)
	}
	m := regexp.MustCompile(`^\{'descr': '<f4', 'fortran_order': False, 'shape': \(([0-9, ]*)\), \} *\n$`).FindSubmatch(b[10 : 10+hl])
	if m == nil {
		return nil, nil, fmt.Errorf("header %q", b[10:10+hl])
	}
	var shape []int
	n := 1
	for _, f := range strings.Split(string(m[1]), ",") {
		if f = strings.TrimSpace(f); f != "" {
			v, err := strconv.Atoi(f)
			if err != nil {
				return nil, nil, err
			}
			shape = append(shape, v)
			n *= v
		}
	}
	body := b[10+hl:]
	if len(body) != 4*n {
		return nil, nil, fmt.Errorf("%d data bytes for shape %v", len(body), shape)
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return shape, data, nil
}

// TestDumpUsage checks the exit codes of bad invocations.
func TestDumpUsage(t *testing.T) {
	ckpt := fixtures.Path(t, "hf/stories260K_hf")
	out := filepath.Join(t.TempDir(), "x.npy")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{ckpt, "--hooks", "hook_logits"}, 2, "exactly one of --text and --ids"},
		{[]string{ckpt, "--ids", "1,2", "--text", "a", "--hooks", "hook_logits"}, 2, "exactly one"},
		{[]string{ckpt, "--ids", "1,2"}, 2, "--hooks is required"},
		{[]string{ckpt, "--ids", "1,x", "--hooks", "hook_logits"}, 2, `"x" is not a token id`},
		{[]string{ckpt, "--ids", "1,2", "--hooks", "blocks.9.hook_resid_post"}, 2, "matches no hook point"},
		{[]string{ckpt, "--ids", "1,2", "--hooks", "blocks.*.attn.hook_v", "-o", out}, 2, "matches 5 hook points"},
		{[]string{ckpt, "--ids", "1,999", "--hooks", "hook_logits"}, 1, "outside the vocabulary"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"dump"}, tc.args...), &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args[1:], code, stderr.String(), tc.code, tc.msg)
		}
	}
	if _, err := os.ReadFile(out); err == nil {
		t.Errorf("a failed dump left %s behind", out)
	}
}

// TestDumpNoTokenizer checks a checkpoint without tokenizer.json: --ids works
// and writes "tokens": null, --text is an error naming the missing file.
func TestDumpNoTokenizer(t *testing.T) {
	ckpt := fixtures.Path(t, "hf/olmo_tiny")
	out := runDump(t, ckpt, "--ids", "1,17,254", "--hooks", "blocks.2.hook_resid_post")
	var d dumpJSON
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(out, []byte(`"tokens":null}`+"\n")) || !slices.Equal(d.Tensors["blocks.2.hook_resid_post"].Shape, []int{3, 64}) {
		t.Errorf("dump without tokenizer: ...%s", out[max(0, len(out)-60):])
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"dump", ckpt, "--text", "hi", "--hooks", "hook_logits"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no tokenizer.json") {
		t.Errorf("--text without a tokenizer: exit %d, stderr %q", code, stderr.String())
	}
}
