package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// TestGenerateMatchesRunC checks greedy generation from the BOS alone against
// llama2.c's run.c (-t 0 -n 256) on stories260K, byte for byte. run.c's 256
// steps forward BOS and the 255 tokens after it and print all 256 tokens they
// produce, then a newline; sinkscope's -n counts generated tokens, so -n 256.
func TestGenerateMatchesRunC(t *testing.T) {
	ckpt := fixtures.Path(t, "hf/stories260K_hf")
	raw, err := os.ReadFile(fixtures.Path(t, "reference/stories260K_runc_reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Text string `json:"greedy_256_from_bos_text"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"generate", ckpt, "--text", "", "-n", "256"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if got := stdout.String(); got != ref.Text {
		i := 0
		for i < len(got) && i < len(ref.Text) && got[i] == ref.Text[i] {
			i++
		}
		t.Errorf("output differs from run.c at byte %d of %d:\ngot  %q\nwant %q", i, len(ref.Text), got[max(0, i-40):], ref.Text[max(0, i-40):])
	}
}

// TestGenerateUsage checks the exit codes of bad invocations.
func TestGenerateUsage(t *testing.T) {
	ckpt := fixtures.Path(t, "hf/stories260K_hf")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"generate", ckpt}, 2, "--text is required"},
		{[]string{"generate", ckpt, "--text", "a", "-n", "-1"}, 2, "non-negative"},
		{[]string{"generate", ckpt, "--text", "a", "--bos", "sometimes"}, 2, "sometimes"},
		{[]string{"generate", t.TempDir(), "--text", "a"}, 1, "config.json"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args[2:], code, stderr.String(), tc.code, tc.msg)
		}
	}
}

// TestGeneratePrompt checks that the prompt is printed with its continuation
// and that -n 0 prints the prompt alone.
func TestGeneratePrompt(t *testing.T) {
	ckpt := fixtures.Path(t, "hf/stories260K_hf")
	for _, tc := range []struct {
		n, want string
	}{
		{"0", "Once upon a time\n"},
		{"3", "Once upon a time, there was\n"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{"generate", ckpt, "--text", "Once upon a time", "-n", tc.n}, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		if stdout.String() != tc.want {
			t.Errorf("-n %s: got %q, want %q", tc.n, stdout.String(), tc.want)
		}
	}
}
