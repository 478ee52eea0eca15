// Package phi3 runs Phi-3 (Phi3ForCausalLM) checkpoints forward, with the
// semantics of Hugging Face transformers: a Llama-shaped decoder whose
// projections are fused,
//
//	q | k | v = qkv_proj(x)       rows [heads·hd | kv_heads·hd | kv_heads·hd]
//	gate | up = gate_up_proj(x)   rows [intermediate | intermediate]
//	mlp(x)    = down_proj(up ⊙ silu(gate))
//
// and with LongRoPE (rope_scaling type "longrope", formerly "su"): a pass over
// more than original_max_position_embeddings positions rotates every
// position with long_factor, a shorter one with short_factor, and cos and
// sin are multiplied by √(1 + ln(s)/ln(original)), s = max/original. A
// non-null sliding_window applies to every layer, and partial_rotary_factor
// rotates only the first part of each head.
package phi3

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/llama"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/transformer"
)

// New binds a Phi3ForCausalLM checkpoint. The checkpoint must stay open
// while the model is used.
func New(ck *loader.Checkpoint) (model.Model, error) {
	m, err := newDecoder(ck)
	if err != nil {
		return nil, fmt.Errorf("phi3: %w", err)
	}
	return m, nil
}

func newDecoder(ck *loader.Checkpoint) (*transformer.Decoder, error) {
	r := transformer.Read(ck)
	s := r.Shape()
	act := r.Act("silu", "hidden_act")
	eps := r.Float("rms_norm_eps", 1e-5)
	window := r.Window("sliding_window")
	frac := r.Float("partial_rotary_factor", 1)
	if err := r.Err(); err != nil {
		return nil, err
	}
	rope, err := newRope(ck, int(float64(s.HeadDim)*frac))
	if err != nil {
		return nil, err
	}
	m := transformer.NewDecoder(ck.Config.Architecture, s)
	b := transformer.NewBinder(ck, s.Summary())
	rms := func(name string) transformer.Norm {
		return transformer.Norm{Kind: transformer.RMSNorm, Eps: float32(eps), Weight: b.Vector(name, s.DModel)}
	}
	q := s.Heads * s.HeadDim
	m.Embed = llama.Embed(b, s)
	for l := range m.Layers {
		ly := &m.Layers[l]
		ly.AttnNorm = rms(llama.Name(l, "input_layernorm.weight"))
		ly.Attn = transformer.Attention{
			QKV:    b.Matrix(llama.Name(l, "self_attn.qkv_proj.weight"), (s.Heads+2*s.KVHeads)*s.HeadDim, s.DModel),
			Layout: transformer.QKVBlocks,
			O:      b.Matrix(llama.Name(l, "self_attn.o_proj.weight"), s.DModel, q),
			Rope:   rope,
			Window: window,
		}
		ly.MLPNorm = rms(llama.Name(l, "post_attention_layernorm.weight"))
		ly.MLP = transformer.MLP{
			GateUp: b.Matrix(llama.Name(l, "mlp.gate_up_proj.weight"), 2*s.Intermediate, s.DModel),
			Down:   b.Matrix(llama.Name(l, "mlp.down_proj.weight"), s.DModel, s.Intermediate),
			Act:    act,
			Gated:  true,
		}
	}
	m.Final = rms("model.norm.weight")
	m.Tied = transformer.Tied(ck, false)
	m.LMHead = b.Head("lm_head.weight", m.Tied, m.Embed, s.Vocab, s.DModel)
	return m, b.Err()
}

// newRope builds the rotary embedding: LongRoPE when rope_scaling says so,
// the plain (or linearly scaled) one otherwise.
func newRope(ck *loader.Checkpoint, dims int) (*transformer.Rope, error) {
	sc := ck.Config.RopeScaling
	if sc == nil || sc.Type != "longrope" {
		return transformer.NewRope(ck, dims, llama.Theta(ck), sc)
	}
	r, err := transformer.NewRope(ck, dims, llama.Theta(ck), nil)
	if err != nil {
		return nil, err
	}
	f := ck.Config.Fields()
	raw, _ := f.Get("rope_scaling")
	var lr struct {
		Short     []float64 `json:"short_factor"`
		Long      []float64 `json:"long_factor"`
		Original  int       `json:"original_max_position_embeddings"`
		AttnScale *float64  `json:"attention_factor"`
	}
	if err := json.Unmarshal(raw, &lr); err != nil {
		return nil, transformer.FieldError(ck, "rope_scaling", "%v", err)
	}
	if len(lr.Short) != dims/2 || len(lr.Long) != dims/2 {
		return nil, transformer.FieldError(ck, "rope_scaling", "short_factor has %d and long_factor %d entries; want %d (rotary dimensions / 2)", len(lr.Short), len(lr.Long), dims/2)
	}
	if lr.Original == 0 {
		if lr.Original, _, err = f.PositiveInt("original_max_position_embeddings"); err != nil {
			return nil, transformer.ConfigError(ck, err)
		}
	}
	if lr.Original <= 0 {
		return nil, transformer.FieldError(ck, "original_max_position_embeddings", "missing; LongRoPE needs it")
	}
	// An explicit factor wins; otherwise max / original.
	factor := sc.Factor
	if factor == 0 {
		factor = float64(ck.Config.MaxPositionEmbeddings) / float64(lr.Original)
	}
	attn := 1.0
	switch {
	case lr.AttnScale != nil:
		attn = *lr.AttnScale
	case factor > 1:
		attn = math.Sqrt(1 + math.Log(factor)/math.Log(float64(lr.Original)))
	}
	base := r.InvFreq // 1/θ^(2i/d)
	r.InvFreq, r.LongInvFreq = divide(base, lr.Short), divide(base, lr.Long)
	r.LongAfter, r.Factor = lr.Original, float32(attn)
	r.Scaling = fmt.Sprintf("longrope: short_factor up to %d positions, long_factor beyond; cos and sin ×%.6g", lr.Original, attn)
	return r, nil
}

// divide returns inv[i] / ext[i]: 1 / (ext · θ^(2i/d)).
func divide(inv []float32, ext []float64) []float32 {
	out := make([]float32, len(inv))
	for i, v := range inv {
		out[i] = float32(float64(v) / ext[i])
	}
	return out
}
