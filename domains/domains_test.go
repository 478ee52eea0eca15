package domains

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// read opens path and reads all its items.
func read(path string) ([]Item, error) {
	s, err := Open(path)
	if err != nil {
		return nil, err
	}
	return s.Items()
}

func texts(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Text)
	}
	return out
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	txt := write(t, dir, "a.txt", "\n\nfirst line\nsecond line\n \n\nthird\r\n\r\nfourth\n")
	jsonl := write(t, dir, "b.jsonl", `{"text": "hello"}`+"\n\n"+`{"ids": [1, 2, 3]}`+"\n")
	write(t, dir, "src/z.go", "package z\n")
	write(t, dir, "src/a.go", "package a\n")
	write(t, dir, "src/.hidden", "skip me")
	write(t, dir, "src/.git/config", "skip me too")
	for _, tc := range []struct {
		path  string
		texts []string
		src   []string
	}{
		{txt, []string{"first line\nsecond line", "third", "fourth"}, []string{txt + ":3", txt + ":7", txt + ":9"}},
		{jsonl, []string{"hello", ""}, []string{jsonl + ":1", jsonl + ":3"}},
		{filepath.Join(dir, "src"), []string{"package a\n", "package z\n"}, []string{filepath.Join(dir, "src/a.go"), filepath.Join(dir, "src/z.go")}},
	} {
		items, err := read(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		var src []string
		for _, it := range items {
			src = append(src, it.Source)
		}
		if !reflect.DeepEqual(texts(items), tc.texts) || !reflect.DeepEqual(src, tc.src) {
			t.Errorf("Read(%s) = %q from %q, want %q from %q", tc.path, texts(items), src, tc.texts, tc.src)
		}
	}
	items, _ := read(jsonl)
	if !reflect.DeepEqual(items[1].IDs, []int{1, 2, 3}) {
		t.Errorf("ids item = %v, want [1 2 3]", items[1].IDs)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content, want string
	}{
		{"bad.txt", "ok\n\nbad \xff byte\n", "bad.txt: not valid UTF-8 text (line 3)"},
		{"bad.jsonl", `{"text": "a"}` + "\n" + `{"text": "b` + "\xfe" + `"}`, "bad.jsonl:2: not valid UTF-8"},
		{"broken.jsonl", `{"text": 3}`, "broken.jsonl:1"},
		{"none.jsonl", `{"words": "x"}`, `no "text" string or "ids" array`},
		{"both.jsonl", `{"text": "x", "ids": [1]}`, "both"},
		{"neg.jsonl", `{"ids": [1, -2]}`, "ids[1] = -2 is negative"},
		{"two.jsonl", `{"text": "a"} {"text": "b"}`, "two.jsonl:1: more than one JSON value"},
		{"data.csv", "a,b", "unsupported file type"},
	} {
		p := write(t, dir, tc.name, tc.content)
		if _, err := read(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Read(%s): error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := read(filepath.Join(dir, "missing.txt")); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("missing file: error %v, want one naming it", err)
	}
	write(t, dir, "tree/a.txt", "text")
	write(t, dir, "tree/bin.dat", "\x00\xff\xfe")
	if items, err := read(filepath.Join(dir, "tree")); err != nil || len(items) != 1 {
		t.Errorf("directory with a binary file: %d items, error %v; want the text only", len(items), err)
	}
	write(t, dir, "tree/latin1.txt", "caf\xe9")
	if _, err := read(filepath.Join(dir, "tree")); err == nil || !strings.Contains(err.Error(), "latin1.txt") {
		t.Errorf("directory with a Latin-1 file: error %v, want one naming latin1.txt", err)
	}
}

// words is an Encoder for tests: BOS (id 1) then one id per word (its length + 10).
func words(text string) ([]int, error) {
	ids := []int{1}
	for _, w := range strings.Fields(text) {
		ids = append(ids, len(w)+10)
	}
	return ids, nil
}

func TestSample(t *testing.T) {
	var items []Item
	for i := 0; i < 20; i++ {
		items = append(items, Item{Source: "t", Text: strings.Repeat("ab ", i)})
	}
	items = append(items, Item{Source: "ids", IDs: []int{5, 6}})
	src := FromItems("x", items)
	seqs := func(opt Options) [][]int {
		t.Helper()
		d, err := Sample("x", src, words, opt)
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.Seqs()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != d.Len() {
			t.Errorf("Seqs gave %d sequences, Len %d", len(s), d.Len())
		}
		return s
	}
	d, err := Sample("x", src, words, Options{SeqLen: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Texts with i ≥ 9 words give ≥ 10 ids: 11 texts, plus the ids item; 9 skipped.
	if d.Len() != 12 || d.Skipped != 9 || d.Items != 21 {
		t.Errorf("Sample: %d seqs, %d skipped of %d, want 12, 9, 21", d.Len(), d.Skipped, d.Items)
	}
	for _, s := range seqs(Options{SeqLen: 10, Seed: 1}) {
		if len(s) != 10 && !reflect.DeepEqual(s, []int{5, 6}) {
			t.Errorf("sequence %v: want 10 tokens or the ids item as given", s)
		}
	}
	a := seqs(Options{SeqLen: 10, Seed: 7, MaxSeqs: 5})
	b := seqs(Options{SeqLen: 10, Seed: 7, MaxSeqs: 5})
	c := seqs(Options{SeqLen: 3, Seed: 8, MaxSeqs: 5})
	if len(a) != 5 || !reflect.DeepEqual(a, b) {
		t.Errorf("same seed gave different samples: %v vs %v", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds and lengths gave the same sample")
	}
}

// TestSampleFile samples a .jsonl file on disk and reads it back twice: the
// sequences are read again from the file, and equal every time.
func TestSampleFile(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "{\"ids\": [1, %d, %d]}\n\n", i, i+1)
	}
	src, err := Open(write(t, t.TempDir(), "d.jsonl", b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != 50 || src.Texts() != 0 {
		t.Fatalf("Len %d, Texts %d; want 50 id items", src.Len(), src.Texts())
	}
	d, err := Sample("d", src, nil, Options{SeqLen: 2, Seed: 3, MaxSeqs: 20})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := d.Seqs()
	again, err := d.Seqs()
	if err != nil || len(first) != 20 || !reflect.DeepEqual(first, again) {
		t.Fatalf("two reads: %v then %v (error %v); want the same 20 sequences", first, again, err)
	}
	seen := map[int]bool{}
	for _, s := range first {
		if len(s) != 3 || s[0] != 1 || s[2] != s[1]+1 || seen[s[1]] {
			t.Errorf("sequence %v: want a distinct [1 i i+1]", s)
		}
		seen[s[1]] = true
	}
}

// TestDigest: the digest follows the contents, not the file name.
func TestDigest(t *testing.T) {
	dir := t.TempDir()
	digest := func(name, content string) string {
		s, err := Open(write(t, dir, name, content))
		if err != nil {
			t.Fatal(err)
		}
		return s.Digest()
	}
	a, b, c := digest("a.txt", "one\n\ntwo\n"), digest("b.txt", "one\n\ntwo\n"), digest("c.txt", "one\n\nthree\n")
	if a != b || a == c || len(a) != 64 {
		t.Errorf("digests %s, %s, %s: want the first two equal and the third different", a, b, c)
	}
	x := FromItems("x", []Item{{IDs: []int{1, 2}}}).Digest()
	y := FromItems("y", []Item{{IDs: []int{1, 3}}}).Digest()
	z := FromItems("z", []Item{{Text: "\x00\x00\x00\x00\x00\x00\x00\x02\x00"}}).Digest()
	if x == y || x == z {
		t.Errorf("in-memory digests %s, %s, %s: want all different", x, y, z)
	}
}

func TestSampleErrors(t *testing.T) {
	short := []Item{{Source: "f.txt:1", Text: "a b"}, {Source: "f.txt:3", Text: "c"}}
	sampleText := func(items []Item, enc Encoder, opt Options) error {
		_, err := Sample("d", FromItems("d", items), enc, opt)
		return err
	}
	for _, tc := range []struct {
		name  string
		items []Item
		enc   Encoder
		opt   Options
		want  string
	}{
		{"empty", nil, words, Options{SeqLen: 4}, `domain "d" is empty`},
		{"all short", short, words, Options{SeqLen: 4}, "all 2 texts are shorter than 4 tokens (the longest has 3)"},
		{"no tokenizer", short, nil, Options{SeqLen: 2}, "no tokenizer"},
		{"ids too long", []Item{{Source: "g.jsonl:2", IDs: []int{1, 2, 3}}}, words, Options{SeqLen: 2, Context: 2}, "g.jsonl:2: 3 token ids exceed the model's context of 2"},
		{"ids too short", []Item{{Source: "g.jsonl:1", IDs: []int{1}}}, words, Options{SeqLen: 2}, "need at least 2"},
	} {
		if err := sampleText(tc.items, tc.enc, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func TestBuiltins(t *testing.T) {
	if got := Builtins(); !reflect.DeepEqual(got, []string{"prose", "code"}) {
		t.Fatalf("Builtins() = %v", got)
	}
	for _, name := range Builtins() {
		src, err := Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		items, err := src.Items()
		if err != nil {
			t.Fatal(err)
		}
		if len(items) < 24 {
			t.Errorf("built-in %s: %d texts, want a few dozen", name, len(items))
		}
		for _, it := range items {
			if len(it.Text) < 200 {
				t.Errorf("built-in %s %s: %d bytes, too short for 64 tokens", name, it.Source, len(it.Text))
			}
		}
	}
	if _, err := Builtin("poetry"); err == nil {
		t.Error("Builtin(poetry): no error")
	}
}

func TestParseSpec(t *testing.T) {
	n, p, err := ParseSpec("wiki=data/wiki.txt")
	if err != nil || n != "wiki" || p != "data/wiki.txt" {
		t.Errorf("ParseSpec = %q, %q, %v", n, p, err)
	}
	for _, bad := range []string{"wiki", "=x", "wiki="} {
		if _, _, err := ParseSpec(bad); err == nil {
			t.Errorf("ParseSpec(%q): no error", bad)
		}
	}
}
