package llama_test

import (
	"testing"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
)

// open opens a checkpoint and builds the model for its architecture.
func open(t testing.TB, dir string) (model.Model, *loader.Checkpoint) {
	t.Helper()
	m, c, err := sinkscope.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return m, c
}
