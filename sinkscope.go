// Package sinkscope opens a checkpoint of any supported family (Llama 2/3/3.1,
// Mistral-shaped Llama, OLMo, OLMo-2, and sinkscope's own Bigram-Backcopy toy)
// as a model.Model with TransformerLens-named hooks.
//
//	m, ck, err := sinkscope.Open("meta-llama/Llama-2-7b-hf", 0)
//	if err != nil { ... }
//	defer ck.Close()
//	var hs hooks.Set
//	cache := hooks.Cache{}
//	cache.Capture(&hs, hooks.At(16, hooks.Pattern))
//	logits, err := m.Forward(ids, &hs)
//
// The family is chosen by config.json's architectures[0]; the packages llama,
// olmo and bbtoy hold the forward passes, loader the reading of checkpoints,
// hooks the hook points and metrics the analysis.
package sinkscope

import (
	"fmt"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/llama"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/olmo"
)

// Open reads the checkpoint named by arg (a directory, or org/name[@revision]
// in the Hugging Face cache) and builds its model. threads bounds the
// goroutines of the forward pass (0: one per CPU). The checkpoint must stay
// open while the model is used; close it when done.
func Open(arg string, threads int) (model.Model, *loader.Checkpoint, error) {
	ck, err := loader.Open(arg)
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

// New builds the model of an open checkpoint, by its architecture.
func New(ck *loader.Checkpoint, threads int) (model.Model, error) {
	switch arch := ck.Config.Architecture; arch {
	case "LlamaForCausalLM", "MistralForCausalLM":
		m, err := llama.New(ck)
		if err != nil {
			return nil, err
		}
		m.SetThreads(threads)
		return m, nil
	case "OlmoForCausalLM", "Olmo2ForCausalLM":
		m, err := olmo.New(ck)
		if err != nil {
			return nil, err
		}
		m.SetThreads(threads)
		return m, nil
	case bbtoy.Architecture:
		return bbtoy.New(ck)
	default:
		return nil, fmt.Errorf("sinkscope: %s: architecture %q has no forward pass (supported: %v)", ck.Dir, arch, loader.SupportedArchitectures())
	}
}
