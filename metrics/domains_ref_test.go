package metrics_test

import (
	"math"
	"testing"

	"github.com/sinkscope/sinkscope/internal/ckptedit"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/metrics"
)

// domainsRef is the part of reference/shakespeare_llama_domains.json used here.
type domainsRef struct {
	Domains map[string]struct {
		Sequences   [][]int     `json:"sequences"`     // [32][128]
		MeanNLL     float64     `json:"mean_nll"`      // mean next-token NLL
		BOSAttnMean [][]float64 `json:"bos_attn_mean"` // [L][H]
		Active      [][2]int    `json:"active"`
	} `json:"domains"`
}

// TestShakespeareDomains reproduces the per-domain mean first-token attention
// of every head (1e-5: f32 attention, float64 means) and the mean NLL
// (1e-4: f32 logits, log-sum-exp in float64 here), and finds every head
// active on both domains, as the fixture says.
func TestShakespeareDomains(t *testing.T) {
	if testing.Short() {
		t.Skip("64 sequences of 128 tokens; skipped with -short")
	}
	m := openModel(t, fixtures.Path(t, "hf/shakespeare_llama"))
	var ref domainsRef
	fixtures.ReadJSON(t, "reference/shakespeare_llama_domains.json", &ref)
	for _, name := range []string{"prose", "code"} {
		dom := ref.Domains[name]
		acc, err := metrics.NewAccumulator(m, metrics.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ids := range dom.Sequences {
			if err := acc.Add(metrics.Sequence{IDs: ids}); err != nil {
				t.Fatal(err)
			}
		}
		d := acc.Result()
		worst := 0.0
		cls := metrics.DefaultClassifier().Classify(&d)
		for i, r := range d.HeadRes {
			worst = math.Max(worst, math.Abs(r.FirstAttn-dom.BOSAttnMean[r.Layer][r.Head]))
			if cls[i] != metrics.Active {
				t.Errorf("%s: head %d.%d is %s (first_attn %.3f), want active", name, r.Layer, r.Head, cls[i], r.FirstAttn)
			}
		}
		t.Logf("%s: %d sequences, max |first_attn − bos_attn_mean| = %.3g, loss %.6f (ref %.6f)", name, d.NSeqs, worst, d.Loss, dom.MeanNLL)
		if worst > 1e-5 || d.NSeqs != 32 {
			t.Errorf("%s: max difference %.3g over %d sequences, want ≤ 1e-5 over 32", name, worst, d.NSeqs)
		}
		if math.Abs(d.Loss-dom.MeanNLL) > 1e-4 {
			t.Errorf("%s: loss %.6f, want %.6f", name, d.Loss, dom.MeanNLL)
		}
		if len(dom.Active) != 32 {
			t.Errorf("%s: fixture lists %d active heads, want 32", name, len(dom.Active))
		}
	}
}

// TestAblationMatchesZeroedCheckpoint compares the Δloss of hooks.ZeroHead
// with a brute-force recomputation on a copy of the checkpoint whose o_proj
// columns for the head are zero (written with loader.WriteSafetensors), for
// three heads on four prose sequences. Both paths run the same f32 forward
// except for the zeroed head, so they agree to f32 rounding of the loss
// (≤ 1e-5).
func TestAblationMatchesZeroedCheckpoint(t *testing.T) {
	dir := fixtures.Path(t, "hf/shakespeare_llama")
	m := openModel(t, dir)
	var ref domainsRef
	fixtures.ReadJSON(t, "reference/shakespeare_llama_domains.json", &ref)
	seqs := ref.Domains["prose"].Sequences[:4]
	heads := []metrics.Head{{Layer: 0, Head: 7}, {Layer: 2, Head: 3}, {Layer: 3, Head: 0}}
	acc, err := metrics.NewAccumulator(m, metrics.Options{Ablate: heads})
	if err != nil {
		t.Fatal(err)
	}
	for _, ids := range seqs {
		if err := acc.Add(metrics.Sequence{IDs: ids}); err != nil {
			t.Fatal(err)
		}
	}
	d := acc.Result()
	info := m.Info()
	for _, h := range heads {
		zdir := ckptedit.Copy(t, dir, ckptedit.ScaleHead(h.Layer, h.Head, info.HeadDim, 0))
		zm := openModel(t, zdir)
		base, err := metrics.NewAccumulator(m, metrics.Options{})
		if err != nil {
			t.Fatal(err)
		}
		zacc, err := metrics.NewAccumulator(zm, metrics.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		for _, ids := range seqs {
			base.Add(metrics.Sequence{IDs: ids})
			zacc.Add(metrics.Sequence{IDs: ids})
		}
		b, z := base.Result(), zacc.Result()
		want = z.Loss - b.Loss
		got := d.Head(h.Layer, h.Head).AblationDLoss
		t.Logf("head %v: Δloss %.8f, zeroed checkpoint %.8f", h, got, want)
		if math.Abs(got-want) > 1e-5 {
			t.Errorf("head %v: Δloss %.8f, brute force %.8f (diff %.3g > 1e-5)", h, got, want, math.Abs(got-want))
		}
		if want == 0 {
			t.Errorf("head %v: brute-force Δloss is exactly 0, the comparison proves nothing", h)
		}
	}
}
