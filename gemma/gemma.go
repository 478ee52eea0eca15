// Package gemma runs Gemma (GemmaForCausalLM), Gemma 2 (Gemma2ForCausalLM)
// and the text model of Gemma 3 (Gemma3ForCausalLM) forward, with the
// semantics of Hugging Face transformers. On top of the Llama layout:
//
//   - the embedding is multiplied by √hidden_size, rounded to the
//     embedding's dtype as Hugging Face casts it;
//   - every RMSNorm multiplies by (1 + w): the stored weights are centred on 0;
//   - the MLP is GeGLU, down(gelu_tanh(gate(x)) ⊙ up(x));
//   - Gemma 2 and 3 have four norms per layer: post_attention_layernorm and
//     post_feedforward_layernorm act on the sublayer outputs (after o_proj and
//     down_proj, before the residual add; so hook_attn_out and hook_mlp_out
//     are post-norm), pre_feedforward_layernorm before the MLP;
//   - Gemma 2 and 3 scale scores by query_pre_attn_scalar^-0.5 and alternate
//     sliding-window and global layers: Gemma 2 every other layer from
//     layer 0, Gemma 3 all but every sliding_window_pattern-th;
//   - Gemma 2 soft-caps the attention scores (attn_logit_softcapping, before
//     the mask) and the final logits (final_logit_softcapping); Gemma 3
//     ignores the attention cap, as its attention code does;
//   - Gemma 3 normalises each head of q and k with a (1 + w) RMSNorm before
//     RoPE, and its sliding layers rotate with rope_local_base_freq and no
//     scaling, its global layers with rope_theta and rope_scaling.
package gemma

import (
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/llama"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/transformer"
)

// New binds a GemmaForCausalLM, Gemma2ForCausalLM or Gemma3ForCausalLM
// checkpoint. The checkpoint must stay open while the model is used.
func New(ck *loader.Checkpoint) (model.Model, error) {
	m, err := newDecoder(ck)
	if err != nil {
		return nil, fmt.Errorf("gemma: %w", err)
	}
	return m, nil
}

// version is 1, 2 or 3.
func version(arch string) int {
	switch arch {
	case "Gemma2ForCausalLM":
		return 2
	case "Gemma3ForCausalLM":
		return 3
	}
	return 1
}

func newDecoder(ck *loader.Checkpoint) (*transformer.Decoder, error) {
	r := transformer.Read(ck)
	s := r.Shape()
	v := version(ck.Config.Architecture)
	// Gemma 1's 2024 code read hidden_activation first (the tanh GELU it
	// was trained with); Gemma 2 and 3 read only hidden_activation.
	act := r.Act("gelu_pytorch_tanh", "hidden_activation", "hidden_act")
	eps := r.Float("rms_norm_eps", 1e-6)
	var scalar, attnCap, finalCap float64
	window, pattern := 0, 0
	switch v {
	case 2: // layers 0, 2, 4, ... slide; both soft-caps
		scalar, window, pattern = r.Float("query_pre_attn_scalar", 256), windowOr(r, 4096), 2
		attnCap, finalCap = softcap(r, "attn_logit_softcapping", 50), softcap(r, "final_logit_softcapping", 30)
	case 3: // all but every sliding_window_pattern-th layer slide
		scalar, window, pattern = r.Float("query_pre_attn_scalar", 256), windowOr(r, 4096), r.Int("sliding_window_pattern", 6)
		finalCap = softcap(r, "final_logit_softcapping", 0)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	sliding, err := transformer.SlidingLayers(ck, s.Layers, func(i int) bool { return pattern > 0 && (i+1)%pattern != 0 })
	if err != nil {
		return nil, err
	}
	global, local, err := ropes(ck, s.HeadDim, v)
	if err != nil {
		return nil, err
	}

	m := transformer.NewDecoder(ck.Config.Architecture, s)
	b := transformer.NewBinder(ck, s.Summary())
	norm := func(name string, n int) transformer.Norm {
		return transformer.Norm{Kind: transformer.RMSNorm, Eps: float32(eps), Weight: b.OnePlus(name, n)}
	}
	m.Embed = llama.Embed(b, s)
	m.EmbedScale = inDType(float32(math.Sqrt(float64(s.DModel))), m.Embed.DType)
	for l := range m.Layers {
		ly := &m.Layers[l]
		ly.AttnNorm = norm(llama.Name(l, "input_layernorm.weight"), s.DModel)
		ly.Attn = llama.Attention(b, l, s)
		ly.Attn.Rope = global
		if scalar > 0 {
			ly.Attn.Scale = float32(math.Pow(scalar, -0.5))
		}
		ly.Attn.Softcap = float32(attnCap)
		if sliding[l] {
			ly.Attn.Window, ly.Attn.Rope = window, local
		}
		ly.MLP = llama.MLP(b, l, s, act)
		if v == 1 {
			ly.MLPNorm = norm(llama.Name(l, "post_attention_layernorm.weight"), s.DModel)
			continue
		}
		ly.PostAttnNorm = norm(llama.Name(l, "post_attention_layernorm.weight"), s.DModel)
		ly.MLPNorm = norm(llama.Name(l, "pre_feedforward_layernorm.weight"), s.DModel)
		ly.PostMLPNorm = norm(llama.Name(l, "post_feedforward_layernorm.weight"), s.DModel)
		if v == 3 {
			ly.Attn.QNorm = norm(llama.Name(l, "self_attn.q_norm.weight"), s.HeadDim)
			ly.Attn.KNorm = norm(llama.Name(l, "self_attn.k_norm.weight"), s.HeadDim)
			ly.Attn.PerHeadQKNorm = true
		}
	}
	m.Final = norm("model.norm.weight", s.DModel)
	m.Softcap = float32(finalCap)
	m.Tied = transformer.Tied(ck, true)
	m.LMHead = b.Head("lm_head.weight", m.Tied, m.Embed, s.Vocab, s.DModel)
	return m, b.Err()
}

// ropes returns the global layers' rotary embedding and the sliding layers'
// (the same one before Gemma 3). transformers v5 keeps them per layer type
// in rope_parameters; older configs as rope_theta + rope_scaling and
// rope_local_base_freq.
func ropes(ck *loader.Checkpoint, headDim, v int) (global, local *transformer.Rope, err error) {
	c := ck.Config
	if byType := c.RopeByLayerType; byType != nil {
		full, ok := byType["full_attention"]
		if !ok {
			return nil, nil, transformer.FieldError(ck, "rope_parameters", "no full_attention entry")
		}
		sl, ok := byType["sliding_attention"]
		if !ok {
			sl = full
		}
		if global, err = transformer.NewRope(ck, headDim, full.Theta, full.Scaling); err != nil {
			return nil, nil, err
		}
		local, err = transformer.NewRope(ck, headDim, sl.Theta, sl.Scaling)
		return global, local, err
	}
	theta := map[int]float64{1: 1e4, 2: 1e4, 3: 1e6}[v]
	if c.RopeTheta > 0 {
		theta = c.RopeTheta
	}
	if global, err = transformer.NewRope(ck, headDim, theta, c.RopeScaling); err != nil {
		return nil, nil, err
	}
	if v < 3 {
		return global, global, nil
	}
	r := transformer.Read(ck)
	base := r.Float("rope_local_base_freq", 1e4)
	if err := r.Err(); err != nil {
		return nil, nil, err
	}
	local, err = transformer.NewRope(ck, headDim, base, nil)
	return global, local, err
}

// softcap reads a soft-capping field: def when absent, 0 (off) when null.
func softcap(r *transformer.Reader, name string, def float64) float64 {
	if _, ok := r.Config().Raw[name]; !ok {
		return def
	}
	return r.Float(name, 0)
}

// windowOr reads sliding_window, def when absent.
func windowOr(r *transformer.Reader, def int) int {
	if w := r.Window("sliding_window"); w > 0 {
		return w
	}
	return def
}

// inDType rounds x to dt, as torch.tensor(x).to(weight.dtype) does.
func inDType(x float32, dt kernels.DType) float32 {
	switch dt {
	case kernels.BF16:
		return kernels.BF16ToF32(kernels.F32ToBF16(x))
	case kernels.F16:
		return kernels.F16ToF32(kernels.F32ToF16(x))
	}
	return x
}
