package sinkscope_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
)

// reference is the schema of the shared fixtures' reference/*.json files.
type reference struct {
	InputIDs      []int           `json:"input_ids"`
	Logits        [][]float32     `json:"logits"`          // [T][vocab]
	EmbeddingNorm []float32       `json:"embedding_norm"`  // [T]
	ResidMidNorm  [][]float32     `json:"resid_mid_norm"`  // [L][T]
	ResidPostNorm [][]float32     `json:"resid_post_norm"` // [L][T]
	ValueNorm     [][][]float32   `json:"value_norm"`      // [L][KV][T]
	Attention     [][][][]float32 `json:"attention"`       // [L][H][q][0..q]
	FinalNormOut  []float32       `json:"final_norm_out_norm"`
	GreedyNextIDs []int           `json:"greedy_next_ids"`
	WOValueNorm   [][][]float32   `json:"wo_value_norm"` // [L][H][T]
}

// open opens a checkpoint and builds the model for its architecture.
func open(t testing.TB, dir string) (model.Model, *loader.Checkpoint) {
	t.Helper()
	m, c, err := sinkscope.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return m, c
}

// maxDiff tracks the largest absolute or relative difference seen.
type maxDiff struct {
	abs, rel float64
}

func (d *maxDiff) add(got, want float32) {
	a := math.Abs(float64(got) - float64(want))
	if math.IsNaN(a) {
		a = math.Inf(1)
	}
	d.abs = max(d.abs, a)
	d.rel = max(d.rel, a/max(math.Abs(float64(want)), 1e-30))
}

func norm(x []float32) float32 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return float32(math.Sqrt(s))
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// TestReferences compares the forward pass with the reference outputs of
// every fixture: an independent C implementation (llama2.c run.c) for
// stories260K and the HF-semantics PyTorch forward for the rest.
//
// Tolerances: the references are float32 computations with a different
// summation order, so logits (magnitudes ~10) agree to ~1e-5; 1e-4 leaves
// room for accumulation-order differences. Attention probabilities are in
// [0, 1] and agree to ~1e-6 (1e-5 allowed). Norms are compared relatively
// (1e-4) because the residual stream grows with depth.
func TestReferences(t *testing.T) {
	cases := []struct{ ref, ckpt string }{
		{"stories260K_hf", "hf/stories260K_hf"},
		{"stories260K_hf_bf16", "hf/stories260K_hf_bf16"},
		{"stories260K_runc", "hf/stories260K_hf"},
		{"shakespeare_llama", "hf/shakespeare_llama"},
		{"shakespeare_llama_bf16", "hf/shakespeare_llama_bf16"},
		{"olmo_tiny", "hf/olmo_tiny"},
		{"olmo_tiny_bf16", "hf/olmo_tiny_bf16"},
		{"olmo2_tiny", "hf/olmo2_tiny"},
		{"olmo2_tiny_bf16", "hf/olmo2_tiny_bf16"},
	}
	for _, name := range []string{"pythia_tiny", "pythia_seq_tiny", "gpt2_tiny", "qwen2_tiny", "qwen3_tiny",
		"gemma_tiny", "gemma2_tiny", "gemma3_tiny", "phi3_tiny", "phi3_longrope_tiny"} {
		for _, suffix := range []string{"", "_bf16"} {
			cases = append(cases, struct{ ref, ckpt string }{name + suffix, "hf/" + name + suffix})
		}
	}
	const (
		logitTol   = 1e-4 // absolute
		patternTol = 1e-5 // absolute
		normTol    = 1e-4 // relative
	)
	t.Logf("%-24s %10s %10s %10s %10s %10s %10s %10s %10s %s (n/a: field absent from the reference)", "fixture", "logits", "attention",
		"embed_rel", "mid_rel", "post_rel", "value_rel", "final_rel", "wo_v_rel", "argmax")
	for _, tc := range cases {
		t.Run(tc.ref, func(t *testing.T) {
			raw, err := os.ReadFile(fixtures.Path(t, filepath.Join("reference", tc.ref+"_reference.json")))
			if err != nil {
				t.Fatal(err)
			}
			var ref reference
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}
			m, _ := open(t, fixtures.Path(t, tc.ckpt))
			in := m.Info()
			var hs hooks.Set
			cache := hooks.Cache{}
			cache.Capture(&hs, hooks.Global(hooks.Embed), hooks.Global(hooks.LnFinal))
			for l := 0; l < in.Layers; l++ {
				cache.Capture(&hs, hooks.At(l, hooks.AttnV), hooks.At(l, hooks.Pattern),
					hooks.At(l, hooks.ResidMid), hooks.At(l, hooks.ResidPost))
			}
			logits, err := m.Forward(ref.InputIDs, &hs)
			if err != nil {
				t.Fatal(err)
			}
			T, V, d, dh := len(ref.InputIDs), in.Vocab, in.DModel, in.HeadDim
			if len(ref.Logits) != T || len(logits) != T*V {
				t.Fatalf("reference has %d logit rows, model gave %d values for T=%d, vocab %d", len(ref.Logits), len(logits), T, V)
			}
			var dLogit, dAttn, dEmb, dMid, dPost, dVal, dFinal, dWOV maxDiff
			argmaxOK := 0
			for i := 0; i < T; i++ {
				row := logits[i*V : (i+1)*V]
				for j, w := range ref.Logits[i] {
					dLogit.add(row[j], w)
				}
				got := argmax(row)
				want := argmax(ref.Logits[i])
				if ref.GreedyNextIDs != nil {
					want = ref.GreedyNextIDs[i]
				}
				if got == want {
					argmaxOK++
				} else {
					t.Errorf("position %d: argmax %d, reference %d", i, got, want)
				}
				dEmb.add(norm(cache[hooks.Global(hooks.Embed)].Data[i*d:(i+1)*d]), ref.EmbeddingNorm[i])
				if ref.FinalNormOut != nil {
					dFinal.add(norm(cache[hooks.Global(hooks.LnFinal)].Data[i*d:(i+1)*d]), ref.FinalNormOut[i])
				}
			}
			z := make([]float32, d)
			for l := 0; l < in.Layers; l++ {
				mid, post := cache[hooks.At(l, hooks.ResidMid)].Data, cache[hooks.At(l, hooks.ResidPost)].Data
				v, pat := cache[hooks.At(l, hooks.AttnV)].Data, cache[hooks.At(l, hooks.Pattern)].Data
				for i := 0; i < T; i++ {
					dMid.add(norm(mid[i*d:(i+1)*d]), ref.ResidMidNorm[l][i])
					dPost.add(norm(post[i*d:(i+1)*d]), ref.ResidPostNorm[l][i])
					for kv := 0; kv < in.KVHeads; kv++ {
						dVal.add(norm(v[(i*in.KVHeads+kv)*dh:(i*in.KVHeads+kv+1)*dh]), ref.ValueNorm[l][kv][i])
					}
				}
				for h := 0; h < in.Heads; h++ {
					for q := 0; q < T; q++ {
						for k := 0; k < T; k++ {
							var want float32 // masked keys must get exactly 0
							if k <= q {
								want = ref.Attention[l][h][q][k]
							}
							dAttn.add(pat[(h*T+q)*T+k], want)
						}
					}
					if ref.WOValueNorm != nil {
						kv := h / (in.Heads / in.KVHeads)
						for i := 0; i < T; i++ {
							m.HeadOutput(l, h, z, v[(i*in.KVHeads+kv)*dh:(i*in.KVHeads+kv+1)*dh])
							dWOV.add(norm(z), ref.WOValueNorm[l][h][i])
						}
					}
				}
			}
			opt := func(d maxDiff, present bool) string {
				if !present {
					return "n/a"
				}
				return fmt.Sprintf("%.3g", d.rel)
			}
			t.Logf("%-24s %10.3g %10.3g %10.3g %10.3g %10.3g %10.3g %10s %10s %d/%d", tc.ref, dLogit.abs, dAttn.abs,
				dEmb.rel, dMid.rel, dPost.rel, dVal.rel, opt(dFinal, ref.FinalNormOut != nil), opt(dWOV, ref.WOValueNorm != nil), argmaxOK, T)
			check := func(what string, got, tol float64) {
				if !(got <= tol) {
					t.Errorf("%s: max difference %.3g exceeds %.0e", what, got, tol)
				}
			}
			check("logits (abs)", dLogit.abs, logitTol)
			check("attention (abs)", dAttn.abs, patternTol)
			check("embedding_norm (rel)", dEmb.rel, normTol)
			check("resid_mid_norm (rel)", dMid.rel, normTol)
			check("resid_post_norm (rel)", dPost.rel, normTol)
			check("value_norm (rel)", dVal.rel, normTol)
			check("final_norm_out_norm (rel)", dFinal.rel, normTol)
			check("wo_value_norm (rel)", dWOV.rel, normTol)
		})
	}
}
