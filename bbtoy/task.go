package bbtoy

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"unicode/utf8"
)

// SeqLen is the length of a BB model input: BOS followed by 255 tokens (PAPER §1.3).
const SeqLen = 256

// DefaultTriggers is the paper's number of trigger tokens.
const DefaultTriggers = 3

// TaskSpec is the serialised task definition stored in every checkpoint's
// config.json under "task". Token ids 0..len(Chars)-1 are the characters in
// order; BOS is len(Chars) and the unused delimiter len(Chars)+1.
type TaskSpec struct {
	Chars    []string  `json:"chars"`          // the characters, sorted; id = index
	Triggers []int     `json:"triggers"`       // trigger token ids, most frequent first
	Unigram  []int64   `json:"unigram_counts"` // [len(Chars)] character counts in the corpus
	Bigram   [][]int64 `json:"bigram_counts"`  // [len(Chars)][len(Chars)] counts of consecutive pairs (row = first)
	SeqLen   int       `json:"seq_len"`        // model input length (BOS included)
}

// Task is a Bigram-Backcopy task: sequences start with BOS, the first real
// token is drawn from the unigram marginal with the triggers removed, a
// trigger is followed by the token before it (backcopy), and every other
// token by a draw from its bigram row.
type Task struct {
	spec    TaskSpec
	n       int         // real characters
	isTrig  []bool      // [vocab]
	cum     [][]int64   // [vocab][n] cumulative counts of the sampling row of each non-trigger token (BOS: marginal without triggers)
	oracle  [][]float64 // [vocab][vocab] next-token distribution at non-trigger inputs (zero rows for triggers and the delimiter)
	entropy []float64   // [vocab] entropy of oracle rows, nats
}

// NewTaskFromCorpus builds the task of a character corpus with the k most
// frequent characters as triggers.
func NewTaskFromCorpus(text string, k int) (*Task, error) {
	if !utf8.ValidString(text) {
		return nil, errors.New("bbtoy: corpus is not valid UTF-8")
	}
	set := map[rune]bool{}
	for _, r := range text {
		set[r] = true
	}
	if len(set) < 2 {
		return nil, fmt.Errorf("bbtoy: corpus has %d distinct characters, want at least 2", len(set))
	}
	runes := make([]rune, 0, len(set))
	for r := range set {
		runes = append(runes, r)
	}
	slices.Sort(runes)
	id := make(map[rune]int, len(runes))
	spec := TaskSpec{SeqLen: SeqLen}
	for i, r := range runes {
		id[r] = i
		spec.Chars = append(spec.Chars, string(r))
	}
	n := len(runes)
	spec.Unigram = make([]int64, n)
	spec.Bigram = make([][]int64, n)
	for i := range spec.Bigram {
		spec.Bigram[i] = make([]int64, n)
	}
	prev := -1
	for _, r := range text {
		c := id[r]
		spec.Unigram[c]++
		if prev >= 0 {
			spec.Bigram[prev][c]++
		}
		prev = c
	}
	trig, err := topK(spec.Unigram, k)
	if err != nil {
		return nil, err
	}
	spec.Triggers = trig
	return NewTask(spec)
}

// topK returns the ids of the k largest counts, ties broken by the smaller id.
func topK(counts []int64, k int) ([]int, error) {
	if k < 1 || k >= len(counts) {
		return nil, fmt.Errorf("bbtoy: %d triggers for %d characters: want 1..%d", k, len(counts), len(counts)-1)
	}
	ids := make([]int, len(counts))
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return counts[ids[a]] > counts[ids[b]] })
	return ids[:k], nil
}

// NewTask validates spec and builds its sampling tables.
func NewTask(spec TaskSpec) (*Task, error) {
	n := len(spec.Chars)
	if n < 2 {
		return nil, fmt.Errorf("bbtoy: task: %d characters, want at least 2", n)
	}
	if spec.SeqLen < 2 {
		return nil, fmt.Errorf("bbtoy: task: seq_len %d, want at least 2", spec.SeqLen)
	}
	if len(spec.Unigram) != n {
		return nil, fmt.Errorf("bbtoy: task: unigram_counts has %d entries, want %d (one per character)", len(spec.Unigram), n)
	}
	if len(spec.Bigram) != n {
		return nil, fmt.Errorf("bbtoy: task: bigram_counts has %d rows, want %d", len(spec.Bigram), n)
	}
	for i, row := range spec.Bigram {
		if len(row) != n {
			return nil, fmt.Errorf("bbtoy: task: bigram_counts row %d has %d entries, want %d", i, len(row), n)
		}
		for j, c := range row {
			if c < 0 {
				return nil, fmt.Errorf("bbtoy: task: bigram_counts[%d][%d] = %d is negative", i, j, c)
			}
		}
	}
	var total int64
	for i, c := range spec.Unigram {
		if c < 0 {
			return nil, fmt.Errorf("bbtoy: task: unigram_counts[%d] = %d is negative", i, c)
		}
		total += c
	}
	vocab := n + 2
	t := &Task{spec: spec, n: n, isTrig: make([]bool, vocab)}
	if len(spec.Triggers) == 0 || len(spec.Triggers) >= n {
		return nil, fmt.Errorf("bbtoy: task: %d triggers, want 1..%d", len(spec.Triggers), n-1)
	}
	for _, id := range spec.Triggers {
		if id < 0 || id >= n {
			return nil, fmt.Errorf("bbtoy: task: trigger id %d is not a character id (0..%d)", id, n-1)
		}
		if t.isTrig[id] {
			return nil, fmt.Errorf("bbtoy: task: trigger id %d listed twice", id)
		}
		t.isTrig[id] = true
	}
	// Sampling rows: BOS draws from the marginal without triggers; a character
	// with no recorded successor (only possible for the corpus' last character)
	// falls back to the full marginal.
	first := make([]int64, n)
	var firstTotal int64
	for i, c := range spec.Unigram {
		if !t.isTrig[i] {
			first[i] = c
			firstTotal += c
		}
	}
	if firstTotal == 0 {
		return nil, errors.New("bbtoy: task: every non-trigger character has count 0")
	}
	t.cum = make([][]int64, vocab)
	t.oracle = make([][]float64, vocab)
	t.entropy = make([]float64, vocab)
	for x := 0; x < vocab; x++ {
		var row []int64
		switch {
		case x == t.BOS():
			row = first
		case x < n && !t.isTrig[x]:
			row = spec.Bigram[x]
			if sum(row) == 0 {
				row = spec.Unigram
			}
		default:
			continue
		}
		t.cum[x] = cumsum(row)
		tot := float64(t.cum[x][n-1])
		p := make([]float64, vocab)
		h := 0.0
		for j, c := range row {
			if c > 0 {
				p[j] = float64(c) / tot
				h -= p[j] * math.Log(p[j])
			}
		}
		t.oracle[x] = p
		t.entropy[x] = h
	}
	if total == 0 {
		return nil, errors.New("bbtoy: task: unigram counts are all 0")
	}
	return t, nil
}

func sum(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}

func cumsum(xs []int64) []int64 {
	c := make([]int64, len(xs))
	var s int64
	for i, x := range xs {
		s += x
		c[i] = s
	}
	return c
}

// Spec returns the task definition (shared; do not modify).
func (t *Task) Spec() TaskSpec { return t.spec }

// MarshalJSON writes the task definition.
func (t *Task) MarshalJSON() ([]byte, error) { return json.Marshal(t.spec) }

// Vocab is the number of token ids: the characters, BOS and the delimiter.
func (t *Task) Vocab() int { return t.n + 2 }

// BOS is the beginning-of-sequence token id.
func (t *Task) BOS() int { return t.n }

// Delimiter is the id of the delimiter token, which the BB task never generates.
func (t *Task) Delimiter() int { return t.n + 1 }

// SeqLen is the model input length (BOS included).
func (t *Task) SeqLen() int { return t.spec.SeqLen }

// Triggers returns the trigger token ids, most frequent first.
func (t *Task) Triggers() []int { return slices.Clone(t.spec.Triggers) }

// IsTrigger reports whether id is a trigger token.
func (t *Task) IsTrigger(id int) bool { return id >= 0 && id < len(t.isTrig) && t.isTrig[id] }

// Token returns the text of a token id: its character, "<s>" for BOS, "<d>"
// for the delimiter, or "" for an id outside the vocabulary.
func (t *Task) Token(id int) string {
	switch {
	case id >= 0 && id < t.n:
		return t.spec.Chars[id]
	case id == t.BOS():
		return "<s>"
	case id == t.Delimiter():
		return "<d>"
	}
	return ""
}

// Oracle returns the true next-token distribution after a non-trigger input
// token x ([Vocab] probabilities), or nil for a trigger or the delimiter (after
// a trigger the next token is the one before it, with probability 1).
func (t *Task) Oracle(x int) []float64 {
	if x < 0 || x >= len(t.oracle) {
		return nil
	}
	return t.oracle[x]
}

// OracleEntropy is the entropy in nats of Oracle(x) (0 for triggers).
func (t *Task) OracleEntropy(x int) float64 {
	if x < 0 || x >= len(t.entropy) {
		return 0
	}
	return t.entropy[x]
}

// Sample writes one BB sequence of len(dst) tokens into dst (BOS first;
// PAPER §1.3): dst[1] is drawn from the marginal without triggers; after a
// trigger comes the token before it; after any other token a draw from its
// bigram row. Model inputs are dst[:SeqLen] and targets dst[1:SeqLen+1].
func (t *Task) Sample(rng *rand.Rand, dst []int) {
	if len(dst) == 0 {
		return
	}
	dst[0] = t.BOS()
	for i := 1; i < len(dst); i++ {
		x := dst[i-1]
		if t.isTrig[x] {
			dst[i] = dst[i-2] // i-1 >= 1 here: dst[1] is never a trigger
			continue
		}
		c := t.cum[x]
		r := rng.Int64N(c[len(c)-1])
		// first index with c[j] > r
		dst[i], _ = slices.BinarySearchFunc(c, r+1, cmp.Compare[int64])
	}
}

// Generate returns n fresh sequences of SeqLen tokens (model inputs, BOS first).
func (t *Task) Generate(rng *rand.Rand, n int) [][]int {
	out := make([][]int, n)
	buf := make([]int, n*t.SeqLen())
	for i := range out {
		out[i] = buf[i*t.SeqLen() : (i+1)*t.SeqLen() : (i+1)*t.SeqLen()]
		t.Sample(rng, out[i])
	}
	return out
}

// compactSpec renders a task definition as JSON with one bigram row per
// line (the embedded file and config.json use it).
func compactSpec(s TaskSpec) []byte {
	var b bytes.Buffer
	w := func(k string, v any, last bool) {
		j, _ := json.Marshal(v)
		b.WriteString(" \"" + k + "\": ")
		b.Write(j)
		if !last {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("{\n")
	w("chars", s.Chars, false)
	w("triggers", s.Triggers, false)
	w("unigram_counts", s.Unigram, false)
	w("seq_len", s.SeqLen, false)
	b.WriteString(" \"bigram_counts\": [\n")
	for i, row := range s.Bigram {
		j, _ := json.Marshal(row)
		b.WriteString("  ")
		b.Write(j)
		if i < len(s.Bigram)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(" ]\n}\n")
	return b.Bytes()
}
