// Package sinkscope opens a checkpoint of any supported family (Llama 2/3/3.1,
// Mistral, OLMo, OLMo-2, GPT-NeoX/Pythia, GPT-2, Qwen2/2.5, Qwen3, Gemma 1/2/3,
// Phi-3, and sinkscope's own Bigram-Backcopy toy) as a model.Model with
// TransformerLens-named hooks.
//
//	m, ck, err := sinkscope.Open("meta-llama/Llama-2-7b-hf", 0)
//	if err != nil { ... }
//	defer ck.Close()
//	var hs hooks.Set
//	cache := hooks.Cache{}
//	cache.Capture(&hs, hooks.At(16, hooks.Pattern))
//	logits, err := m.Forward(ids, &hs)
//
// The family is chosen by config.json's architectures[0] from one list
// (families.go). Each family package (llama, olmo, gptneox, gpt2, qwen,
// gemma, phi3, bbtoy) maps its config and tensors onto the shared decoder of
// package transformer; loader reads checkpoints, hooks names the hook points
// and metrics holds the analysis.
package sinkscope

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
)

// Builtin names the Bigram-Backcopy checkpoint embedded in the binary, for
// Open.
const Builtin = "builtin:bbtoy"

// Open reads the checkpoint named by arg (a directory, org/name[@revision]
// in the Hugging Face cache, or Builtin) and builds its model. threads bounds the
// goroutines of the forward pass (0: one per CPU). The checkpoint must stay
// open while the model is used; close it when done.
func Open(arg string, threads int) (model.Model, *loader.Checkpoint, error) {
	ck, err := OpenCheckpoint(arg)
	if err != nil {
		return nil, nil, err
	}
	m, err := New(ck, threads)
	if err != nil {
		ck.Close()
		return nil, nil, err
	}
	return m, ck, nil
}

// OpenCheckpoint is loader.Open that also knows Builtin.
func OpenCheckpoint(arg string) (*loader.Checkpoint, error) {
	if arg != Builtin {
		return loader.Open(arg)
	}
	ck, err := loader.OpenFS(bbtoy.Builtin(), ".")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Builtin, err)
	}
	return ck, nil
}

// New builds the model of an open checkpoint, by config.json's
// architectures[0] (see Architectures).
func New(ck *loader.Checkpoint, threads int) (model.Model, error) {
	arch := ck.Config.Architecture
	i := slices.IndexFunc(families, func(f family) bool { return f.arch == arch })
	if i < 0 {
		return nil, fmt.Errorf("sinkscope: %s: config.json: field \"architectures\": unknown architecture %q; supported: %s",
			ck.Dir, arch, strings.Join(Architectures(), ", "))
	}
	m, err := families[i].new(ck)
	if err != nil {
		return nil, err
	}
	if t, ok := m.(interface{ SetThreads(int) }); ok {
		t.SetThreads(threads)
	}
	return m, nil
}
