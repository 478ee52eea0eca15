package lab

import (
	"testing"

	"github.com/sinkscope/sinkscope/bbtoy"

	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/metrics"
)

// TestBuiltin: the embedded checkpoint loads through the loader and shows the
// paper's picture on 32 generated sequences: its head is dormant on
// non-trigger queries (first_attn ≥ 0.8; measured 0.99), active on trigger
// queries (first_attn < 0.5, attention to the previous token > 0.6; measured
// 0.00 and 0.81), the BOS value is smaller than the others; removing the
// attention destroys backcopy and removing the MLP destroys the bigram
// (PAPER §1.7: 7.69 and 4.21 nats in the paper's larger model).
func TestBuiltin(t *testing.T) {
	ck, err := loader.OpenFS(bbtoy.Builtin(), ".")
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	m, err := bbtoy.New(ck)
	if err != nil {
		t.Fatal(err)
	}
	if tr := m.Training(); tr == nil || tr.Step < 1000 {
		t.Fatalf("built-in training info %+v, want a trained checkpoint", tr)
	}
	an, err := Analyze(m, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range an.Heads {
		t.Logf("%s: first_attn %.5f prev_attn %.4f value_norm_first %.3f rest %.3f n_queries %d %s", h.Domain, h.FirstAttn, h.PrevAttn, h.ValueNormFirst, h.ValueNormRest, h.FirstAttnQueries, h.Class)
		switch h.Domain {
		case bbtoy.DomainNonTrigger:
			if h.Class != metrics.Dormant || h.FirstAttn < 0.8 {
				t.Errorf("non-trigger: first_attn %.3f (%s), want dormant (≥ 0.8)", h.FirstAttn, h.Class)
			}
		case bbtoy.DomainTrigger:
			if h.Class != metrics.Active || h.PrevAttn < 0.6 {
				t.Errorf("trigger: first_attn %.3f, prev_attn %.3f (%s), want active with prev_attn ≥ 0.6", h.FirstAttn, h.PrevAttn, h.Class)
			}
		}
		if h.ValueNormFirst >= h.ValueNormRest {
			t.Errorf("value norm of BOS %.3f ≥ median of the rest %.3f, want smaller (value-state drain)", h.ValueNormFirst, h.ValueNormRest)
		}
	}
	abl := map[string]AblationRow{}
	for _, a := range an.Ablations {
		abl[a.Name] = a
		t.Logf("%-10s backcopy %.3f bigram %.3f excess %.3f", a.Name, a.BackcopyRisk, a.BigramRisk, a.BigramExcess)
	}
	if f, na, nm := abl["full"], abl["no-attn L0"], abl["no-mlp L0"]; !(na.BackcopyRisk > f.BackcopyRisk+2 && nm.BigramExcess > f.BigramExcess+1 && na.BigramExcess < 0.1) {
		t.Errorf("ablations %+v: want no-attn to raise backcopy risk by > 2 nats with the bigram intact, and no-mlp to raise the bigram excess by > 1 nat", an.Ablations)
	}
}
