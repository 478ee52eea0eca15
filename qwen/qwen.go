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
	"encoding/json"
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
	s, err := transformer.StandardShape(ck)
	if err != nil {
		return nil, err
	}
	if err := s.CheckHeads(ck); err != nil {
		return nil, err
	}
	qwen3 := ck.Config.Architecture == "Qwen3ForCausalLM"
	act, err := transformer.Act(ck, "silu", "hidden_act")
	if err != nil {
		return nil, err
	}
	eps, err := transformer.Float(ck, "rms_norm_eps", 1e-6)
	if err != nil {
		return nil, err
	}
	bias := !qwen3 // Qwen2: q/k/v always carry biases
	if qwen3 {
		if bias, err = transformer.Bool(ck, "attention_bias", false); err != nil {
			return nil, err
		}
	}
	sliding, window, err := windows(ck, s.Layers)
	if err != nil {
		return nil, err
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

// windows returns which layers slide and the window: as Qwen2Config derives
// them, the window is sliding_window when use_sliding_window is true (none
// otherwise), on layers i ≥ max_window_layers (default 28).
func windows(ck *loader.Checkpoint, n int) ([]bool, int, error) {
	use, err := transformer.Bool(ck, "use_sliding_window", false)
	if err != nil {
		return nil, 0, err
	}
	window := 0
	if raw, ok := ck.Config.Fields().Get("sliding_window"); ok && use {
		if err := json.Unmarshal(raw, &window); err != nil || window <= 0 {
			return nil, 0, transformer.FieldError(ck, "sliding_window", "%s: want a positive integer or null", raw)
		}
	}
	from, present, err := ck.Config.Fields().PositiveInt("max_window_layers")
	if err != nil {
		return nil, 0, transformer.ConfigError(ck, err)
	}
	if !present {
		from = 28
	}
	sliding, err := transformer.SlidingLayers(ck, n, func(i int) bool { return window > 0 && i >= from })
	if err != nil {
		return nil, 0, err
	}
	if window == 0 {
		for i, s := range sliding {
			if s {
				return nil, 0, transformer.FieldError(ck, "layer_types", "layer %d is sliding_attention but there is no sliding window", i)
			}
		}
	}
	return sliding, window, nil
}
