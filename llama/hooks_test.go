package llama_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/transformer"
)

// The hook names of a 2-layer model, in the order the forward pass reaches
// them (TransformerLens names, DESIGN.md §4).
const twoLayerHooks = `hook_embed
blocks.0.hook_resid_pre
blocks.0.attn.hook_q
blocks.0.attn.hook_k
blocks.0.attn.hook_v
blocks.0.attn.hook_attn_scores
blocks.0.attn.hook_pattern
blocks.0.attn.hook_z
blocks.0.hook_attn_out
blocks.0.hook_resid_mid
blocks.0.hook_mlp_out
blocks.0.hook_resid_post
blocks.1.hook_resid_pre
blocks.1.attn.hook_q
blocks.1.attn.hook_k
blocks.1.attn.hook_v
blocks.1.attn.hook_attn_scores
blocks.1.attn.hook_pattern
blocks.1.attn.hook_z
blocks.1.hook_attn_out
blocks.1.hook_resid_mid
blocks.1.hook_mlp_out
blocks.1.hook_resid_post
ln_final.hook_normalized
hook_logits`

// TestHookOrder pins the names and order of the hooks every family's forward
// pass actually calls, and checks that hooks.Points lists the same.
func TestHookOrder(t *testing.T) {
	want := strings.Split(twoLayerHooks, "\n")
	var points []string
	for _, p := range hooks.Points(2) {
		points = append(points, p.String())
	}
	if !slices.Equal(points, want) {
		t.Errorf("hooks.Points(2) =\n%s\nwant\n%s", strings.Join(points, "\n"), twoLayerHooks)
	}
	for _, arch := range []string{"LlamaForCausalLM", "MistralForCausalLM", "OlmoForCausalLM", "Olmo2ForCausalLM"} {
		t.Run(arch, func(t *testing.T) {
			dir := t.TempDir()
			tiny{arch: arch, d: 32, layers: 2, heads: 4, kv: 2, dh: 8, inter: 48, vocab: 64}.write(t, dir, 1)
			m, _ := open(t, dir)
			var hs hooks.Set
			var called []string
			for _, p := range hooks.Points(2) {
				hs.Add(p, func(p hooks.Point, _ hooks.Tensor) { called = append(called, p.String()) })
			}
			if _, err := m.Forward([]int{1, 5, 9}, &hs); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(called, want) {
				t.Errorf("forward called\n%s\nwant\n%s", strings.Join(called, "\n"), twoLayerHooks)
			}
		})
	}
}

// TestLlama3 builds a Llama-3-shaped tiny checkpoint (GQA 4:1, rope_theta
// 5e5, llama3 rope scaling, tied embeddings), checks its RoPE inverse
// frequencies against the closed-form rule and every hook's shape.
func TestLlama3(t *testing.T) {
	const (
		d, H, KV, dh, L, V, T = 128, 8, 2, 16, 2, 300, 7
		theta                 = 5e5
		factor, low, high     = 8.0, 1.0, 4.0
		orig                  = 8192.0
	)
	dir := t.TempDir()
	tiny{arch: "LlamaForCausalLM", d: d, layers: L, heads: H, kv: KV, dh: dh, inter: 256, vocab: V, tied: true,
		config: map[string]any{
			"rope_theta": theta, "max_position_embeddings": 131072,
			"rope_scaling": map[string]any{"rope_type": "llama3", "factor": factor, "low_freq_factor": low,
				"high_freq_factor": high, "original_max_position_embeddings": orig},
		}}.write(t, dir, 3)
	m, c := open(t, dir)
	if _, err := c.Tensors.Get("lm_head.weight"); err == nil {
		t.Fatal("the tied checkpoint should have no lm_head.weight")
	}

	// Closed form (transformers' _compute_llama3_parameters), in float64:
	// wavelengths shorter than orig/high keep their frequency, longer than
	// orig/low are divided by factor, and in between are interpolated.
	inv := m.(*transformer.Decoder).Layers[0].Attn.Rope.InvFreq
	regimes := map[string]int{}
	for i := range dh / 2 {
		f := 1 / math.Pow(theta, float64(2*i)/dh)
		wavelen := 2 * math.Pi / f
		want, regime := f, "kept"
		switch {
		case wavelen > orig/low:
			want, regime = f/factor, "divided"
		case wavelen >= orig/high:
			s := (orig/wavelen - low) / (high - low)
			want, regime = (1-s)*f/factor+s*f, "interpolated"
		}
		regimes[regime]++
		// float32 rounding of theta^(-2i/dh), as torch computes it: 1e-6 relative.
		if got := float64(inv[i]); math.Abs(got-want) > 1e-6*want {
			t.Errorf("inv_freq[%d] = %g, want %g (%s)", i, got, want, regime)
		}
	}
	if len(regimes) != 3 {
		t.Errorf("head_dim %d covers regimes %v; want all three", dh, regimes)
	}

	wantShape := map[hooks.Kind][]int{
		hooks.Embed: {T, d}, hooks.ResidPre: {T, d}, hooks.AttnQ: {T, H, dh}, hooks.AttnK: {T, KV, dh},
		hooks.AttnV: {T, KV, dh}, hooks.AttnScores: {H, T, T}, hooks.Pattern: {H, T, T}, hooks.Z: {T, H, dh},
		hooks.AttnOut: {T, d}, hooks.ResidMid: {T, d}, hooks.MLPOut: {T, d}, hooks.ResidPost: {T, d},
		hooks.LnFinal: {T, d}, hooks.Logits: {T, V},
	}
	var hs hooks.Set
	seen := 0
	for _, p := range hooks.Points(L) {
		hs.Add(p, func(p hooks.Point, x hooks.Tensor) {
			seen++
			n := 1
			for _, v := range x.Shape {
				n *= v
			}
			if !slices.Equal(x.Shape, wantShape[p.Kind]) || len(x.Data) != n {
				t.Errorf("%s: shape %v with %d values, want %v", p, x.Shape, len(x.Data), wantShape[p.Kind])
			}
		})
	}
	logits, err := m.Forward([]int{0, 17, 299, 3, 3, 150, 42}, &hs)
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(hooks.Points(L)) {
		t.Errorf("%d hooks called, want %d", seen, len(hooks.Points(L)))
	}
	for i, v := range logits {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("logit %d is %v", i, v)
		}
	}
}
