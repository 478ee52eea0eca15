package sinkscope

import (
	"slices"

	"github.com/sinkscope/sinkscope/bbtoy"
	"github.com/sinkscope/sinkscope/gemma"
	"github.com/sinkscope/sinkscope/gpt2"
	"github.com/sinkscope/sinkscope/gptneox"
	"github.com/sinkscope/sinkscope/llama"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/olmo"
	"github.com/sinkscope/sinkscope/phi3"
	"github.com/sinkscope/sinkscope/qwen"
)

// family builds the model of a checkpoint whose config.json names arch as
// architectures[0].
type family struct {
	arch string
	new  func(*loader.Checkpoint) (model.Model, error)
}

// families is every architecture sinkscope runs. Open, Architectures and
// the unknown-architecture error all read this one list; a new family adds
// its line here.
var families = []family{
	{"LlamaForCausalLM", llama.New},
	{"MistralForCausalLM", llama.New},
	{"OlmoForCausalLM", olmo.New},
	{"Olmo2ForCausalLM", olmo.New},
	{"GPTNeoXForCausalLM", gptneox.New},
	{"GPT2LMHeadModel", gpt2.New},
	{"Qwen2ForCausalLM", qwen.New},
	{"Qwen3ForCausalLM", qwen.New},
	{"GemmaForCausalLM", gemma.New},
	{"Gemma2ForCausalLM", gemma.New},
	{"Gemma3ForCausalLM", gemma.New},
	{"Phi3ForCausalLM", phi3.New},
	{bbtoy.Architecture, bbtoy.Open},
}

// Architectures returns the config.json architectures[0] values sinkscope
// runs, sorted.
func Architectures() []string {
	out := make([]string, len(families))
	for i, f := range families {
		out[i] = f.arch
	}
	slices.Sort(out)
	return out
}
