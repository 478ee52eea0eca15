package transformer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sinkscope/sinkscope/model"
)

// Quirks describes how the model departs from a plain pre-norm decoder:
// its residual wiring, norms, attention (projections, biases, QK-norm,
// scale, soft-caps, windows), rotary embedding per layer, MLP and head
// (model.Describer).
func (m *Decoder) Quirks() []model.Quirk {
	if len(m.Layers) == 0 {
		return nil
	}
	ly := &m.Layers[0]
	at := &ly.Attn
	var q []model.Quirk
	add := func(name, format string, args ...any) {
		q = append(q, model.Quirk{Name: name, Value: fmt.Sprintf(format, args...)})
	}
	pre, post := ly.AttnNorm.Kind != NoNorm, ly.PostAttnNorm.Kind != NoNorm
	wiring := map[[2]bool]string{
		{true, false}: "pre-norm", {false, true}: "post-norm (each sublayer's output normed before the add)",
		{true, true}: "sandwich (pre-norms and post-norms around each sublayer)", {false, false}: "no norms",
	}[[2]bool{pre, post}]
	if ly.Parallel {
		wiring = "parallel: x + attn(ln1(x)) + mlp(ln2(x)); hook_resid_mid is x + attn"
	}
	add("residual", "%s", wiring)
	add("norm", "%s", describeNorm(m.Final))
	qkv := "separate q, k, v projections"
	switch {
	case at.QKV.Rows > 0 && at.Layout == QKVPerHead:
		qkv = "fused, per head [q_h | k_h | v_h]"
	case at.QKV.Rows > 0:
		qkv = "fused, blocks [q | k | v]"
	}
	if at.QKV.Transposed {
		qkv += ", Conv1D [in, out]"
	}
	add("attention", "%d heads, %d KV heads, head_dim %d; %s", m.Dims.Heads, m.Dims.KVHeads, m.Dims.HeadDim, qkv)
	var biases []string
	for _, b := range []struct {
		name string
		on   bool
	}{{"qkv", at.QKVBias != nil}, {"q", at.QBias != nil}, {"k", at.KBias != nil}, {"v", at.VBias != nil}, {"o", at.OBias != nil}, {"mlp", ly.MLP.DownBias != nil}} {
		if b.on {
			biases = append(biases, b.name)
		}
	}
	if len(biases) > 0 {
		add("biases", "%s", strings.Join(biases, ", "))
	}
	if at.QNorm.Kind != NoNorm {
		width := "over the whole projection"
		if at.PerHeadQKNorm {
			width = "per head"
		}
		add("qk_norm", "%s, %s", describeNorm(at.QNorm), width)
	}
	if at.Clip > 0 {
		add("clip_qkv", "±%g", at.Clip)
	}
	add("score_scale", "%.6g", at.scale(m.Dims.HeadDim))
	if at.Softcap > 0 {
		add("attn_softcap", "%g·tanh(s/%g), before the mask", at.Softcap, at.Softcap)
	}
	if m.Softcap > 0 {
		add("final_softcap", "%g·tanh(logits/%g)", m.Softcap, m.Softcap)
	}
	add("positions", "%s", m.describePositions())
	var sliding, full []string
	window := 0
	for l := range m.Layers {
		if w := m.Layers[l].Attn.Window; w > 0 {
			sliding, window = append(sliding, fmt.Sprint(l)), w
		} else {
			full = append(full, fmt.Sprint(l))
		}
	}
	if len(sliding) > 0 {
		add("windows", "sliding (window %d): layers %s; full: layers %s", window, strings.Join(sliding, ","), strings.Join(full, ","))
	}
	mlp := "ungated"
	if ly.MLP.Gated {
		mlp = "gated"
	}
	fused := ""
	if ly.MLP.GateUp.Rows > 0 {
		fused = ", fused gate_up"
	}
	add("mlp", "%s %v, intermediate %d%s", mlp, ly.MLP.Act, ly.MLP.intermediate(), fused)
	if m.EmbedScale != 0 {
		add("embed_scale", "%g (√d_model in the embedding dtype)", m.EmbedScale)
	}
	add("head", "%s", map[bool]string{true: "tied to the token embedding", false: "separate lm_head"}[m.Tied])
	return q
}

func describeNorm(n Norm) string {
	switch {
	case n.Kind == LayerNorm && n.Weight == nil:
		return fmt.Sprintf("LayerNorm without weight or bias, eps %g", n.Eps)
	case n.Kind == LayerNorm:
		return fmt.Sprintf("LayerNorm with weight and bias, eps %g", n.Eps)
	}
	return fmt.Sprintf("%v, eps %g", n.Kind, n.Eps)
}

// describePositions lists the rotary embeddings by the layers that use them.
func (m *Decoder) describePositions() string {
	if m.Positions.Rows > 0 {
		return fmt.Sprintf("learned absolute positions (%d)", m.Positions.Rows)
	}
	var ropes []*Rope
	layers := map[*Rope][]string{}
	for l := range m.Layers {
		r := m.Layers[l].Attn.Rope
		if r == nil {
			continue
		}
		if !slices.Contains(ropes, r) {
			ropes = append(ropes, r)
		}
		layers[r] = append(layers[r], fmt.Sprint(l))
	}
	if len(ropes) == 0 {
		return "none"
	}
	var parts []string
	for _, r := range ropes {
		s := fmt.Sprintf("RoPE on %d of %d dims, base %g", r.Dims, m.Dims.HeadDim, r.Theta)
		if r.Scaling != "" {
			s += ", " + r.Scaling
		}
		if len(ropes) > 1 {
			s += " (layers " + strings.Join(layers[r], ",") + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}
