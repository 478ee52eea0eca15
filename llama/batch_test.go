package llama_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/model"
)

// TestBatchIsBitIdentical: sequences of one length run together through
// ForwardBatch (their positions stacked into one matrix product, the MLP in
// chunks of positions, the logits handed out in chunks) give every hook
// tensor and every logit with the bits of a Forward of each alone. The
// lengths cross the attention's query block (64), the logits' chunk (256) and,
// stacked, the MLP's chunk (512); the sliding window makes the first keys
// invisible to later queries.
func TestBatchIsBitIdentical(t *testing.T) {
	for _, tc := range []struct {
		name   string
		arch   string
		config map[string]any
		B, T   int
	}{
		{"llama", "LlamaForCausalLM", nil, 3, 300},
		{"mistral window", "MistralForCausalLM", map[string]any{"sliding_window": 70}, 4, 130},
		{"olmo2", "Olmo2ForCausalLM", nil, 5, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tiny{arch: tc.arch, d: 32, layers: 2, heads: 4, kv: 2, dh: 8, inter: 48, vocab: 97, config: tc.config}.write(t, dir, 11)
			m, _ := open(t, dir)
			bm, ok := m.(model.Batcher)
			if !ok {
				t.Fatalf("%T is not a model.Batcher", m)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			seqs := make([][]int, tc.B)
			for b := range seqs {
				for range tc.T {
					seqs[b] = append(seqs[b], rng.IntN(97))
				}
			}
			points := []hooks.Point{hooks.At(1, hooks.AttnQ), hooks.At(0, hooks.Z), hooks.At(1, hooks.ResidPost), hooks.Global(hooks.LnFinal)}
			caches := make([]hooks.Cache, tc.B)
			sets := make([]*hooks.Set, tc.B)
			got := make([][]float32, tc.B)
			for b := range sets {
				caches[b], sets[b] = hooks.Cache{}, new(hooks.Set)
				caches[b].Capture(sets[b], points...)
			}
			err := bm.ForwardBatch(seqs, sets, func(b, i0 int, chunk []float32) error {
				if len(got[b]) != i0*97 {
					t.Errorf("sequence %d: chunk at position %d after %d logits", b, i0, len(got[b]))
				}
				got[b] = append(got[b], chunk...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for b, ids := range seqs {
				var hs hooks.Set
				want := hooks.Cache{}
				want.Capture(&hs, points...)
				logits, err := m.Forward(ids, &hs)
				if err != nil {
					t.Fatal(err)
				}
				if !bitsEqual(got[b], logits) {
					t.Errorf("sequence %d: batched logits differ from a Forward alone", b)
				}
				for _, p := range points {
					if !slices.Equal(caches[b][p].Shape, want[p].Shape) || !bitsEqual(caches[b][p].Data, want[p].Data) {
						t.Errorf("sequence %d: %v (shape %v) differs from a Forward alone (shape %v)", b, p, caches[b][p].Shape, want[p].Shape)
					}
				}
			}
		})
	}
}

// TestBatchErrors: a batch of unequal lengths, or with a hook set per
// sequence missing, is an error that says so.
func TestBatchErrors(t *testing.T) {
	dir := t.TempDir()
	tiny{arch: "LlamaForCausalLM", d: 16, layers: 1, heads: 2, kv: 2, dh: 8, inter: 24, vocab: 32}.write(t, dir, 2)
	m, _ := open(t, dir)
	bm := m.(model.Batcher)
	none := func(int, int, []float32) error { return nil }
	if err := bm.ForwardBatch([][]int{{1, 2}, {3}}, nil, none); err == nil {
		t.Error("unequal lengths: no error")
	}
	if err := bm.ForwardBatch([][]int{{1, 2}, {3, 4}}, make([]*hooks.Set, 1), none); err == nil {
		t.Error("one hook set for two sequences: no error")
	}
}

func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
