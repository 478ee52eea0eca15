// Package llama runs Llama 2, Llama 3/3.1 and Mistral checkpoints
// (LlamaForCausalLM, MistralForCausalLM) forward, with the semantics of
// Hugging Face transformers:
//
//	h = embed(ids)
//	a = h + o_proj(attn(rope(q_proj(n1)), rope(k_proj(n1)), v_proj(n1)))   n1 = rms_norm(h)
//	h = a + down_proj(silu(gate_proj(n2)) ⊙ up_proj(n2))                     n2 = rms_norm(a)
//	logits = lm_head(rms_norm(h))
//
// It also declares the Llama tensor layout (model.layers.N.self_attn.*,
// mlp.*), which the Llama-shaped families (olmo, qwen, gemma, phi3) bind
// through Attention, MLP and Layer, as Hugging Face's own modular code
// derives them from Llama.
package llama

import (
	"fmt"

	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/transformer"
)

// New binds a LlamaForCausalLM or MistralForCausalLM checkpoint. The
// checkpoint must stay open while the model is used.
func New(ck *loader.Checkpoint) (model.Model, error) {
	m, err := newDecoder(ck)
	if err != nil {
		return nil, fmt.Errorf("llama: %w", err)
	}
	return m, nil
}

func newDecoder(ck *loader.Checkpoint) (*transformer.Decoder, error) {
	if a := ck.Config.Architecture; a != "LlamaForCausalLM" && a != "MistralForCausalLM" {
		return nil, fmt.Errorf("%s: architecture %q is not LlamaForCausalLM or MistralForCausalLM", ck.Dir, a)
	}
	r := transformer.Read(ck)
	s := r.Shape()
	SiLU(r, "hidden_act")
	r.Off("attention_bias", false, "sinkscope implements the bias-free projections only")
	r.Off("mlp_bias", false, "sinkscope implements the bias-free projections only")
	eps := r.Float("rms_norm_eps", 1e-6)
	window := 0
	if ck.Config.Architecture == "MistralForCausalLM" {
		// Mistral 7B v0.1 attends to the last sliding_window keys only; later
		// versions set it to null.
		window = r.Window("sliding_window")
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	rope, err := transformer.NewRope(ck, s.HeadDim, Theta(ck), ck.Config.RopeScaling)
	if err != nil {
		return nil, err
	}
	transformer.DefaultTokens(ck, 1, 2)
	m := transformer.NewDecoder(ck.Config.Architecture, s)
	b := transformer.NewBinder(ck, s.Summary())
	rms := func(name string) transformer.Norm {
		return transformer.Norm{Kind: transformer.RMSNorm, Eps: float32(eps), Weight: b.Vector(name, s.DModel)}
	}
	m.Embed = Embed(b, s)
	for l := range m.Layers {
		ly := &m.Layers[l]
		ly.AttnNorm = rms(Name(l, "input_layernorm.weight"))
		ly.Attn = Attention(b, l, s)
		ly.Attn.Rope, ly.Attn.Window = rope, window
		ly.MLPNorm = rms(Name(l, "post_attention_layernorm.weight"))
		ly.MLP = MLP(b, l, s, transformer.SiLU)
	}
	m.Final = rms("model.norm.weight")
	m.Tied = transformer.Tied(ck, false)
	m.LMHead = b.Head("lm_head.weight", m.Tied, m.Embed, s.Vocab, s.DModel)
	return m, b.Err()
}

// Theta is rope_theta, or 10000 (the default of every Llama-shaped config
// class) when absent.
func Theta(ck *loader.Checkpoint) float64 {
	if t := ck.Config.RopeTheta; t > 0 {
		return t
	}
	return 10000
}

// SiLU checks that an activation field, when present, is silu.
func SiLU(r *transformer.Reader, field string) {
	if act := r.Act("silu", field); act != transformer.SiLU {
		r.Fail(field, "%q: sinkscope implements silu only here", act)
	}
}

// Name is the Hugging Face name of a tensor of layer l:
// "model.layers.{l}." + suffix.
func Name(l int, suffix string) string { return fmt.Sprintf("model.layers.%d.%s", l, suffix) }

// Embed binds model.embed_tokens.weight [vocab, d_model].
func Embed(b *transformer.Binder, s transformer.Shape) kernels.Weight {
	return b.Matrix("model.embed_tokens.weight", s.Vocab, s.DModel)
}

// Attention binds layer l's self_attn.{q,k,v,o}_proj.weight:
// q [heads·head_dim, d_model], k and v [kv_heads·head_dim, d_model],
// o [d_model, heads·head_dim].
func Attention(b *transformer.Binder, l int, s transformer.Shape) transformer.Attention {
	q, kv := s.Heads*s.HeadDim, s.KVHeads*s.HeadDim
	return transformer.Attention{
		Q: b.Matrix(Name(l, "self_attn.q_proj.weight"), q, s.DModel),
		K: b.Matrix(Name(l, "self_attn.k_proj.weight"), kv, s.DModel),
		V: b.Matrix(Name(l, "self_attn.v_proj.weight"), kv, s.DModel),
		O: b.Matrix(Name(l, "self_attn.o_proj.weight"), s.DModel, q),
	}
}

// MLP binds layer l's gated mlp.{gate,up,down}_proj.weight: gate and up
// [intermediate, d_model], down [d_model, intermediate].
func MLP(b *transformer.Binder, l int, s transformer.Shape, act transformer.Activation) transformer.MLP {
	return transformer.MLP{
		Gate:  b.Matrix(Name(l, "mlp.gate_proj.weight"), s.Intermediate, s.DModel),
		Up:    b.Matrix(Name(l, "mlp.up_proj.weight"), s.Intermediate, s.DModel),
		Down:  b.Matrix(Name(l, "mlp.down_proj.weight"), s.DModel, s.Intermediate),
		Act:   act,
		Gated: true,
	}
}
