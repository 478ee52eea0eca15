package metrics_test

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/internal/stats"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
)

// reference holds the fields of the shared fixtures' reference/*.json files
// that metrics reproduces (MANIFEST.md §3).
type reference struct {
	InputIDs      []int           `json:"input_ids"`
	ResidPostNorm [][]float64     `json:"resid_post_norm"` // [L][T]
	ValueNorm     [][][]float64   `json:"value_norm"`      // [L][KV][T]
	Attention     [][][][]float64 `json:"attention"`       // [L][H][q][0..q]
	WOValueNorm   [][][]float64   `json:"wo_value_norm"`   // [L][H][T]
	BOSAttn       [][]float64     `json:"bos_attn"`        // [L][H]
	AttnMass      [][][]float64   `json:"attn_mass"`       // [L][H][T]
	LayerTypes    []string        `json:"layer_types"`     // [L] full_attention / sliding_attention; absent: all full
}

// visibleMeans recomputes first_attn and attn_mass from the reference
// attention of one head over the queries that can see each key under a
// sliding window w: queries k..k+w-1 (query 0 left out for key 0's
// first_attn). The reference's own bos_attn and attn_mass average the masked
// zeros too, which is what sinkscope must not do.
func visibleMeans(att [][]float64, w int) (first float64, mass []float64) {
	T := len(att)
	mass = make([]float64, T)
	for k := 0; k < T; k++ {
		end := min(T, k+w)
		for q := k; q < end; q++ {
			mass[k] += att[q][k]
		}
		mass[k] /= float64(end - k)
	}
	end := min(T, w)
	for q := 1; q < end; q++ {
		first += att[q][0]
	}
	return first / float64(end-1), mass
}

func openModel(t testing.TB, dir string) model.Model {
	t.Helper()
	m, c, err := sinkscope.Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return m
}

// worst tracks the largest difference of one metric against the reference.
type worst struct {
	name     string
	relative bool // compare |got−want| / |want| (else absolute)
	tol      float64
	max      float64
	where    string
}

func (w *worst) add(got, want float64, where string, args ...any) {
	d := math.Abs(got - want)
	if w.relative {
		d /= math.Max(math.Abs(want), 1e-30)
	}
	if math.IsNaN(d) {
		d = math.Inf(1)
	}
	if d > w.max {
		w.max = d
		w.where = fmt.Sprintf(where, args...)
	}
}

// TestReferences reproduces every metric field of the independent reference
// forwards (MANIFEST.md §3, §7): bos_attn and attn_mass to 1e-5 absolute,
// value norms (‖W_O^(h) v‖ and raw ‖v‖) to 1e-4 relative, attention
// probabilities to 1e-5 and residual norms to 1e-4 relative, through both the
// per-token report and the streaming accumulator (one sequence). The bf16
// references use f32 math on the same bf16 weights, so the same tolerances hold.
func TestReferences(t *testing.T) {
	for _, tc := range []struct{ ckpt, ref string }{
		{"hf/stories260K_hf", "stories260K_hf_reference.json"},
		{"hf/stories260K_hf_bf16", "stories260K_hf_bf16_reference.json"},
		{"hf/olmo_tiny", "olmo_tiny_reference.json"},
		{"hf/olmo_tiny_bf16", "olmo_tiny_bf16_reference.json"},
		{"hf/olmo2_tiny", "olmo2_tiny_reference.json"},
		{"hf/olmo2_tiny_bf16", "olmo2_tiny_bf16_reference.json"},
		{"hf/shakespeare_llama", "shakespeare_llama_reference.json"},
		{"hf/shakespeare_llama_bf16", "shakespeare_llama_bf16_reference.json"},
		{"hf/pythia_tiny", "pythia_tiny_reference.json"},
		{"hf/pythia_seq_tiny_bf16", "pythia_seq_tiny_bf16_reference.json"},
		{"hf/gpt2_tiny", "gpt2_tiny_reference.json"},
		{"hf/gpt2_tiny_bf16", "gpt2_tiny_bf16_reference.json"},
		{"hf/qwen2_tiny", "qwen2_tiny_reference.json"},
		{"hf/qwen3_tiny_bf16", "qwen3_tiny_bf16_reference.json"},
		{"hf/gemma_tiny", "gemma_tiny_reference.json"},
		{"hf/gemma2_tiny", "gemma2_tiny_reference.json"},
		{"hf/gemma2_tiny_bf16", "gemma2_tiny_bf16_reference.json"},
		{"hf/gemma3_tiny", "gemma3_tiny_reference.json"},
		{"hf/phi3_tiny_bf16", "phi3_tiny_bf16_reference.json"},
		{"hf/phi3_longrope_tiny", "phi3_longrope_tiny_reference.json"},
	} {
		t.Run(filepath.Base(tc.ckpt), func(t *testing.T) {
			dir := fixtures.Path(t, tc.ckpt)
			var ref reference
			fixtures.ReadJSON(t, filepath.Join("reference", tc.ref), &ref)
			m := openModel(t, dir)
			info := m.Info()
			T, L, H, KV := len(ref.InputIDs), info.Layers, info.Heads, info.KVHeads

			r, err := metrics.Inspect(m, ref.InputIDs)
			if err != nil {
				t.Fatal(err)
			}
			acc, err := metrics.NewAccumulator(m, metrics.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := acc.Add(metrics.Sequence{IDs: ref.InputIDs}); err != nil {
				t.Fatal(err)
			}
			d := acc.Result()
			var hs hooks.Set
			cache := hooks.Cache{}
			for l := 0; l < L; l++ {
				cache.Capture(&hs, hooks.At(l, hooks.Pattern))
			}
			if _, err := m.Forward(ref.InputIDs, &hs); err != nil {
				t.Fatal(err)
			}

			checks := []*worst{
				{name: "first_attn (report)", tol: 1e-5},
				{name: "first_attn (accumulator)", tol: 1e-5},
				{name: "attn_mass (report)", tol: 1e-5},
				{name: "attn_mass (accumulator)", tol: 1e-5},
				{name: "wo_value_norm", relative: true, tol: 1e-4},
				{name: "value_norm_first/rest (accumulator)", relative: true, tol: 1e-4},
				{name: "raw value_norm", relative: true, tol: 1e-4},
				{name: "raw value_norm first/rest (accumulator)", relative: true, tol: 1e-4},
				{name: "attention", tol: 1e-5},
				{name: "resid_post_norm", relative: true, tol: 1e-4},
				{name: "resid first/rest (accumulator)", relative: true, tol: 1e-4},
				{name: "row entropy (accumulator vs reference attention)", tol: 1e-5},
			}
			for l := 0; l < L; l++ {
				pat := cache[hooks.At(l, hooks.Pattern)].Data
				w := model.LayerWindow(m, l)
				if sliding := ref.LayerTypes != nil && ref.LayerTypes[l] == "sliding_attention"; sliding != (w > 0) {
					t.Errorf("layer %d: window %d, reference layer type %q", l, w, ref.LayerTypes[l])
				}
				for h := 0; h < H; h++ {
					hr := d.Head(l, h)
					wantFirst, wantMass, wantN := ref.BOSAttn[l][h], ref.AttnMass[l][h], T-1
					if w > 0 && w < T {
						wantFirst, wantMass = visibleMeans(ref.Attention[l][h], w)
						wantN = w - 1
					}
					if hr.FirstAttnQueries != wantN {
						t.Errorf("L%dH%d: first_attn over %d queries, want %d", l, h, hr.FirstAttnQueries, wantN)
					}
					checks[0].add(r.FirstAttn[l*H+h], wantFirst, "L%dH%d", l, h)
					checks[1].add(hr.FirstAttn, wantFirst, "L%dH%d", l, h)
					for k := 0; k < T; k++ {
						checks[2].add(r.AttnMass[(l*H+h)*T+k], wantMass[k], "L%dH%d k%d", l, h, k)
						checks[3].add(hr.AttnMass[k], wantMass[k], "L%dH%d k%d", l, h, k)
						checks[4].add(r.ValueNorm[(l*H+h)*T+k], ref.WOValueNorm[l][h][k], "L%dH%d k%d", l, h, k)
					}
					checks[5].add(hr.ValueNormFirst, ref.WOValueNorm[l][h][0], "L%dH%d first", l, h)
					checks[5].add(hr.ValueNormRest, stats.Median(ref.WOValueNorm[l][h][1:]), "L%dH%d rest", l, h)
					var ent float64
					for q := 0; q < T; q++ {
						row := ref.Attention[l][h][q]
						var e float64
						for k := 0; k <= q; k++ {
							checks[8].add(float64(pat[(h*T+q)*T+k]), row[k], "L%dH%d q%d k%d", l, h, q, k)
							if row[k] > 0 {
								e -= row[k] * math.Log(row[k])
							}
						}
						if q > 0 {
							ent += e / math.Log(float64(q+1))
						}
					}
					checks[11].add(hr.RowEntropy, ent/float64(T-1), "L%dH%d", l, h)
				}
				for kv := 0; kv < KV; kv++ {
					for k := 0; k < T; k++ {
						checks[6].add(r.RawValueNorm[(l*KV+kv)*T+k], ref.ValueNorm[l][kv][k], "L%d KV%d k%d", l, kv, k)
					}
					kr := d.KV[l*KV+kv]
					checks[7].add(kr.ValueNormFirst, ref.ValueNorm[l][kv][0], "L%d KV%d first", l, kv)
					checks[7].add(kr.ValueNormRest, stats.Median(ref.ValueNorm[l][kv][1:]), "L%d KV%d rest", l, kv)
				}
				for k := 0; k < T; k++ {
					checks[9].add(r.ResidNorm[l*T+k], ref.ResidPostNorm[l][k], "L%d k%d", l, k)
				}
				checks[10].add(d.Resid[l].ResidNormFirst, ref.ResidPostNorm[l][0], "L%d first", l)
				checks[10].add(d.Resid[l].ResidNormRest, stats.Median(ref.ResidPostNorm[l][1:]), "L%d rest", l)
			}
			for _, c := range checks {
				kind := "abs"
				if c.relative {
					kind = "rel"
				}
				t.Logf("%-48s max %s diff %.3g (%s)", c.name, kind, c.max, c.where)
				if c.max > c.tol {
					t.Errorf("%s: max %s difference %.3g at %s, want ≤ %g", c.name, kind, c.max, c.where, c.tol)
				}
			}
		})
	}
}

// TestSlidingFirstAttn: on gemma2_tiny's sliding layer 0 (window 8, T = 40)
// queries 8..39 cannot see the first token. first_attn averages the 7
// queries that can; averaging the masked zeros too (the reference's bos_attn)
// would make every head look far less sink-like than it is, and a head
// active merely because key 0 was masked.
func TestSlidingFirstAttn(t *testing.T) {
	m := openModel(t, fixtures.Path(t, "hf/gemma2_tiny"))
	var ref reference
	fixtures.ReadJSON(t, filepath.Join("reference", "gemma2_tiny_reference.json"), &ref)
	if w := model.LayerWindow(m, 0); w != 8 || ref.LayerTypes[0] != "sliding_attention" {
		t.Fatalf("layer 0: window %d, reference %q; want a sliding layer of 8", w, ref.LayerTypes[0])
	}
	acc, err := metrics.NewAccumulator(m, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := acc.Add(metrics.Sequence{IDs: ref.InputIDs}); err != nil {
		t.Fatal(err)
	}
	res := acc.Result()
	for h := 0; h < m.Info().Heads; h++ {
		hr := res.Head(0, h)
		visible, _ := visibleMeans(ref.Attention[0][h], 8)
		if hr.FirstAttnQueries != 7 || math.Abs(hr.FirstAttn-visible) > 1e-5 {
			t.Errorf("head %d: first_attn %.7f over %d queries, want %.7f over 7", h, hr.FirstAttn, hr.FirstAttnQueries, visible)
		}
		if naive := ref.BOSAttn[0][h]; math.Abs(naive*39/7-visible) > 1e-5 || visible-naive < 0.01 {
			t.Errorf("head %d: reference bos_attn %.7f should be the visible mean %.7f diluted by 32 masked zeros", h, naive, visible)
		}
		t.Logf("layer 0 head %d: first_attn %.5f over the 7 visible queries (all 39: %.5f)", h, hr.FirstAttn, ref.BOSAttn[0][h])
	}
}
