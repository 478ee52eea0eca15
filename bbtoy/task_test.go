package bbtoy

import (
	"flag"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

var update = flag.Bool("update", false, "rewrite tinyshakespeare_task.json from the corpus")

func TestBuiltinTaskMatchesCorpus(t *testing.T) {
	p := fixtures.Path(t, "tinyshakespeare/input.txt")
	text, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	task, err := NewTaskFromCorpus(string(text), DefaultTriggers)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("tinyshakespeare_task.json", compactSpec(task.Spec()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !reflect.DeepEqual(task.Spec(), BuiltinTask().Spec()) {
		t.Fatal("embedded task differs from the one counted from the corpus; regenerate with -update")
	}
}

func TestBuiltinTask(t *testing.T) {
	task := BuiltinTask()
	if got := task.Vocab(); got != 67 {
		t.Errorf("Vocab = %d, want 67 (65 characters + BOS + delimiter)", got)
	}
	if task.BOS() != 65 || task.Delimiter() != 66 {
		t.Errorf("BOS, delimiter = %d, %d, want 65, 66", task.BOS(), task.Delimiter())
	}
	var trig []string
	for _, id := range task.Triggers() {
		trig = append(trig, task.Token(id))
	}
	if want := []string{" ", "e", "t"}; !reflect.DeepEqual(trig, want) {
		t.Errorf("triggers = %q, want %q", trig, want)
	}
	if !reflect.DeepEqual(task.Triggers(), []int{1, 43, 58}) {
		t.Errorf("trigger ids = %v, want [1 43 58] (PAPER §1.2)", task.Triggers())
	}
	if task.Token(0) != "\n" || task.Token(39) != "a" {
		t.Errorf("Token(0), Token(39) = %q, %q, want \"\\n\", \"a\"", task.Token(0), task.Token(39))
	}
	if sum(task.Spec().Unigram) != 1115394 {
		t.Errorf("unigram total %d, want 1115394 (corpus length)", sum(task.Spec().Unigram))
	}
}

// TestGenerate checks the generator on 2048 sequences: the BB rules hold at
// every position, and the oracle bigram risk (mean entropy of the true next-token
// distribution over non-trigger positions) matches the paper's 2.2299 nats.
func TestGenerate(t *testing.T) {
	task := BuiltinTask()
	const n = 2048
	seqs := make([][]int, 0, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for len(seqs) < n {
		// SeqLen+1 tokens, as training uses them (inputs and targets).
		s := make([]int, SeqLen+1)
		task.Sample(rng, s)
		seqs = append(seqs, s)
	}
	var h float64
	var cnt int
	for si, s := range seqs {
		if s[0] != task.BOS() {
			t.Fatalf("seq %d starts with %d, want BOS", si, s[0])
		}
		if task.IsTrigger(s[1]) {
			t.Fatalf("seq %d: first token %q is a trigger", si, task.Token(s[1]))
		}
		for i := 1; i < len(s); i++ {
			if s[i] == task.BOS() || s[i] == task.Delimiter() {
				t.Fatalf("seq %d pos %d: generated special token %d", si, i, s[i])
			}
			if i >= 2 && task.IsTrigger(s[i-1]) && s[i] != s[i-2] {
				t.Fatalf("seq %d pos %d: after trigger %q comes %q, want the token before the trigger %q",
					si, i, task.Token(s[i-1]), task.Token(s[i]), task.Token(s[i-2]))
			}
			if !task.IsTrigger(s[i-1]) && task.Oracle(s[i-1])[s[i]] == 0 {
				t.Fatalf("seq %d pos %d: bigram %d→%d has probability 0", si, i, s[i-1], s[i])
			}
		}
		for i := 0; i < SeqLen; i++ {
			if !task.IsTrigger(s[i]) {
				h += task.OracleEntropy(s[i])
				cnt++
			}
		}
	}
	risk := h / float64(cnt)
	t.Logf("oracle bigram risk over %d sequences: %.4f nats (paper 2.2299)", n, risk)
	if risk < 2.20 || risk > 2.25 {
		t.Errorf("oracle bigram risk %.4f, want in [2.20, 2.25]", risk)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	task := BuiltinTask()
	a := task.Generate(rand.New(rand.NewPCG(7, 8)), 3)
	b := task.Generate(rand.New(rand.NewPCG(7, 8)), 3)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different sequences")
	}
	if len(a) != 3 || len(a[2]) != SeqLen {
		t.Fatalf("Generate shape %d×%d, want 3×%d", len(a), len(a[2]), SeqLen)
	}
}

func TestNewTaskErrors(t *testing.T) {
	good := BuiltinTask().Spec()
	tests := []struct {
		name string
		edit func(*TaskSpec)
	}{
		{"no triggers", func(s *TaskSpec) { s.Triggers = nil }},
		{"bad trigger", func(s *TaskSpec) { s.Triggers = []int{70} }},
		{"dup trigger", func(s *TaskSpec) { s.Triggers = []int{1, 1} }},
		{"short unigram", func(s *TaskSpec) { s.Unigram = s.Unigram[:3] }},
		{"short row", func(s *TaskSpec) { s.Bigram = append([][]int64{{1}}, s.Bigram[1:]...) }},
		{"seq len", func(s *TaskSpec) { s.SeqLen = 1 }},
	}
	for _, tc := range tests {
		s := good
		s.Bigram = append([][]int64(nil), good.Bigram...)
		tc.edit(&s)
		if _, err := NewTask(s); err == nil {
			t.Errorf("%s: NewTask succeeded, want an error", tc.name)
		}
	}
}
