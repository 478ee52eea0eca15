package olmo_test

import (
	"math"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/olmo"
	"github.com/sinkscope/sinkscope/transformer"
)

// ids is the 16-token input of the OLMo reference files.
var ids = []int{1, 17, 254, 3, 99, 99, 400, 12, 511, 0, 77, 300, 5, 250, 128, 42}

func open(t *testing.T, rel string) (*transformer.Decoder, *loader.Checkpoint) {
	t.Helper()
	c, err := loader.Open(fixtures.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m, err := olmo.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return m.(*transformer.Decoder), c
}

// TestClip checks that OLMo's hook_q, hook_k and hook_v come after the clamp
// to ±clip_qkv (1.0 in olmo_tiny): no entry exceeds it and some reach it.
// (Agreement with the reference forward is in llama's TestReferences.)
func TestClip(t *testing.T) {
	m, c := open(t, "hf/olmo_tiny")
	clip := float32(c.Config.ClipQKV)
	if clip != 1 {
		t.Fatalf("olmo_tiny clip_qkv = %g, want 1", clip)
	}
	var hs hooks.Set
	cache := hooks.Cache{}
	for l := 0; l < m.Info().Layers; l++ {
		cache.Capture(&hs, hooks.At(l, hooks.AttnQ), hooks.At(l, hooks.AttnK), hooks.At(l, hooks.AttnV))
	}
	if _, err := m.Forward(ids, &hs); err != nil {
		t.Fatal(err)
	}
	for p, x := range cache {
		atClip := 0
		for _, v := range x.Data {
			if v > clip || v < -clip {
				t.Fatalf("%s: %g outside ±%g", p, v, clip)
			}
			if v == clip || v == -clip {
				atClip++
			}
		}
		if atClip == 0 {
			t.Errorf("%s: no entry at ±%g; clipping not exercised", p, clip)
		}
	}
}

// TestPostNorm checks that OLMo-2's hook_attn_out and hook_mlp_out are taken
// after the post-sublayer RMSNorm: divided by the norm weight, every row has
// a root mean square of 1 (up to eps = 1e-6 and float32 rounding, 1e-4).
func TestPostNorm(t *testing.T) {
	m, c := open(t, "hf/olmo2_tiny")
	d := m.Info().DModel
	var hs hooks.Set
	cache := hooks.Cache{}
	cache.Capture(&hs, hooks.At(1, hooks.AttnOut), hooks.At(1, hooks.MLPOut))
	if _, err := m.Forward(ids, &hs); err != nil {
		t.Fatal(err)
	}
	for kind, name := range map[hooks.Kind]string{
		hooks.AttnOut: "model.layers.1.post_attention_layernorm.weight",
		hooks.MLPOut:  "model.layers.1.post_feedforward_layernorm.weight",
	} {
		wt, err := c.Tensors.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		w := wt.Float32()
		x := cache[hooks.At(1, kind)].Data
		for i := 0; i < len(ids); i++ {
			var ss float64
			for j := 0; j < d; j++ {
				v := float64(x[i*d+j]) / float64(w[j])
				ss += v * v
			}
			if rms := math.Sqrt(ss / float64(d)); math.Abs(rms-1) > 1e-4 {
				t.Errorf("%s position %d: RMS of output/weight = %.6f, want 1", kind, i, rms)
			}
		}
	}
}

// TestWrongArchitecture checks that olmo.New refuses a Llama checkpoint.
func TestWrongArchitecture(t *testing.T) {
	c, err := loader.Open(fixtures.Path(t, "hf/stories260K_hf"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := olmo.New(c); err == nil || !strings.Contains(err.Error(), `"LlamaForCausalLM" is not OlmoForCausalLM or Olmo2ForCausalLM`) {
		t.Errorf("olmo.New(stories260K): error %v", err)
	}
}
