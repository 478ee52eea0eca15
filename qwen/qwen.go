// Package qwen runs Qwen2/Qwen2.5 (Qwen2ForCausalLM) and Qwen3
// (Qwen3ForCausalLM) checkpoints forward, with the semantics of Hugging Face
// transformers. Both are Llama-shaped (RMSNorm pre-norms, SwiGLU, RoPE) with:
//
//   - Qwen2: biases on q_proj, k_proj and v_proj (not o_proj);
//   - Qwen3: no biases unless attention_bias (then o_proj too), and q_norm /
//     k_norm, RMSNorms of width head_dim applied to each head of q and k
//     after projection, before RoPE;
//   - both: a sliding window only when use_sliding_window is true, on the
//     layers from max_window_layers on (or as an explicit layer_types says).
package qwen

import (
	"fmt"

	"github.com/sinkscope/sinkscope/llama"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/transformer"
)

// New binds a Qwen2ForCausalLM or Qwen3ForCausalLM checkpoint. The
// checkpoint must stay open while the model is used.
func New(ck *loader.Checkpoint) (model.Model, error) {
	m, err := newDecoder(ck)
	if err != nil {
		return nil, fmt.Errorf("qwen: %w", err)
	}
	return m, nil
}

func newDecoder(ck *loader.Checkpoint) (*transformer.Decoder, error) {
	r := transformer.Read(ck)
	s := r.Shape()
	qwen3 := ck.Config.Architecture == "Qwen3ForCausalLM"
	act := r.Act("silu", "hidden_act")
	eps := r.Float("rms_norm_eps", 1e-6)
	bias := !qwen3 // Qwen2: q/k/v always carry biases
	if qwen3 {
		bias = r.Bool("attention_bias", false)
	}
	// As Qwen2Config derives them: a window only with use_sliding_window, on
	// the layers from max_window_layers (default 28) on.
	window := r.Window("sliding_window")
	if !r.Bool("use_sliding_window", false) {
		window = 0
	}
	from := r.Int("max_window_layers", 28)
	if err := r.Err(); err != nil {
		return nil, err
	}
	sliding, err := transformer.SlidingLayers(ck, s.Layers, func(i int) bool { return window > 0 && i >= from })
	if err != nil {
		return nil, err
	}
	for i, sl := range sliding {
		if sl && window == 0 {
			return nil, transformer.FieldError(ck, "layer_types", "layer %d is sliding_attention but there is no sliding window", i)
		}
	}
	rope, err := transformer.NewRope(ck, s.HeadDim, llama.Theta(ck), ck.Config.RopeScaling)
	if err != nil {
		return nil, err
	}
	m := transformer.NewDecoder(ck.Config.Architecture, s)
	b := transformer.NewBinder(ck, s.Summary())
	rms := func(name string, n int) transformer.Norm {
		return transformer.Norm{Kind: transformer.RMSNorm, Eps: float32(eps), Weight: b.Vector(name, n)}
	}
	q, kv := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	m.Embed = llama.Embed(b, s)
	for l := range m.Layers {
		ly := &m.Layers[l]
		ly.AttnNorm = rms(llama.Name(l, "input_layernorm.weight"), s.DModel)
		ly.Attn = llama.Attention(b, l, s)
		ly.Attn.Rope = rope
		if sliding[l] {
			ly.Attn.Window = window
		}
		if bias {
			ly.Attn.QBias = b.Vector(llama.Name(l, "self_attn.q_proj.bias"), q)
			ly.Attn.KBias = b.Vector(llama.Name(l, "self_attn.k_proj.bias"), kv)
			ly.Attn.VBias = b.Vector(llama.Name(l, "self_attn.v_proj.bias"), kv)
		}
		if qwen3 {
			if bias {
				ly.Attn.OBias = b.Vector(llama.Name(l, "self_attn.o_proj.bias"), s.DModel)
			}
			ly.Attn.QNorm = rms(llama.Name(l, "self_attn.q_norm.weight"), s.HeadDim)
			ly.Attn.KNorm = rms(llama.Name(l, "self_attn.k_norm.weight"), s.HeadDim)
			ly.Attn.PerHeadQKNorm = true
		}
		ly.MLPNorm = rms(llama.Name(l, "post_attention_layernorm.weight"), s.DModel)
		ly.MLP = llama.MLP(b, l, s, act)
	}
	m.Final = rms("model.norm.weight", s.DModel)
	m.Tied = transformer.Tied(ck, false)
	m.LMHead = b.Head("lm_head.weight", m.Tied, m.Embed, s.Vocab, s.DModel)
	return m, b.Err()
}
