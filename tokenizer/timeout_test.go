package tokenizer

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRegexTimeout loads a crafted tokenizer.json whose Split regex
// backtracks catastrophically ((a+)+$ on a run of a's without a match: 2ⁿ
// ways to split the run) and encodes such a text: the match timeout stops it
// with an error naming the file, in about MatchTimeout instead of forever.
func TestRegexTimeout(t *testing.T) {
	doc, err := json.Marshal(map[string]any{
		"version":       "1.0",
		"pre_tokenizer": map[string]any{"type": "Split", "pattern": map[string]any{"Regex": "(a+)+$"}, "behavior": "Isolated"},
		"model":         map[string]any{"type": "BPE", "vocab": map[string]int{"a": 0, "b": 1}, "merges": []string{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse("evil/tokenizer.json", doc)
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := tok.EncodeChecked("aab", false); err != nil || len(ids) != 3 {
		t.Fatalf("short text: ids %v, %v; want 3 ids and no error", ids, err)
	}
	start := time.Now()
	ids, err := tok.EncodeBOS(strings.Repeat("a", 40)+"b", BOSNever)
	took := time.Since(start)
	if err == nil {
		t.Fatalf("catastrophic regex: no error (ids %v)", ids)
	}
	for _, want := range []string{"evil/tokenizer.json", `regex "(a+)+$"`, "match timeout", "backtracks catastrophically"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if took > MatchTimeout+3*time.Second {
		t.Errorf("stopped after %v; want about the %v timeout", took, MatchTimeout)
	}
	t.Logf("stopped after %v: %v", took.Round(time.Millisecond), err)
}
