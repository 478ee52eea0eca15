package bbtoy

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// tinyShakespeareTask holds the Tiny Shakespeare task definition (character
// list, unigram and bigram counts, triggers) as numbers, not text. It is
// regenerated from the corpus by
//
//	go test ./bbtoy -run TestBuiltinTaskMatchesCorpus -update
//
// with the shared fixtures present (see internal/fixtures).
//
//go:embed tinyshakespeare_task.json
var tinyShakespeareTask []byte

// BuiltinTask returns the paper's task: character-level Tiny Shakespeare
// (65 characters, BOS 65, delimiter 66, 67 tokens) with triggers {space, e, t}.
func BuiltinTask() *Task {
	var spec TaskSpec
	if err := json.Unmarshal(tinyShakespeareTask, &spec); err != nil {
		panic(fmt.Sprintf("bbtoy: embedded task definition: %v", err)) // a build defect, not an input error
	}
	t, err := NewTask(spec)
	if err != nil {
		panic(fmt.Sprintf("bbtoy: embedded task definition: %v", err))
	}
	return t
}
