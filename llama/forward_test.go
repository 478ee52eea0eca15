package llama_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/llama"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/transformer"
)

// TestSlidingWindow checks Mistral's sliding_window: query i attends to keys
// i-W+1..i only, and the pattern rows still sum to 1.
func TestSlidingWindow(t *testing.T) {
	const W, T = 3, 9
	dir := t.TempDir()
	tiny{arch: "MistralForCausalLM", d: 32, layers: 1, heads: 4, kv: 2, dh: 8, inter: 48, vocab: 64,
		config: map[string]any{"sliding_window": W}}.write(t, dir, 5)
	m, _ := open(t, dir)
	var hs hooks.Set
	cache := hooks.Cache{}
	cache.Capture(&hs, hooks.At(0, hooks.Pattern))
	if _, err := m.Forward([]int{1, 2, 3, 4, 5, 6, 7, 8, 9}, &hs); err != nil {
		t.Fatal(err)
	}
	pat := cache[hooks.At(0, hooks.Pattern)].Data
	for h := 0; h < m.Info().Heads; h++ {
		for i := 0; i < T; i++ {
			var sum float32
			for j := 0; j < T; j++ {
				p := pat[(h*T+i)*T+j]
				sum += p
				if visible := j <= i && j > i-W; visible != (p > 0) {
					t.Errorf("head %d query %d key %d: probability %g, visible %v", h, i, j, p, visible)
				}
			}
			if sum < 1-1e-6 || sum > 1+1e-6 {
				t.Errorf("head %d query %d: pattern sums to %g", h, i, sum)
			}
		}
	}
}

// TestForwardErrors checks that bad inputs are errors that say what is wrong.
func TestForwardErrors(t *testing.T) {
	m, _ := open(t, fixtures.Path(t, "hf/stories260K_hf"))
	long := make([]int, m.Info().MaxSeqLen+1)
	for _, tc := range []struct {
		name string
		ids  []int
		want string
	}{
		{"empty", nil, "empty token sequence"},
		{"negative", []int{1, -1}, "token -1 at position 1 is outside the vocabulary [0, 512)"},
		{"too large", []int{512}, "token 512 at position 0 is outside the vocabulary"},
		{"too long", long, "513 tokens exceed the model's max_position_embeddings 512"},
	} {
		_, err := m.Forward(tc.ids, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// BenchmarkForwardHooks measures the cost of the hook machinery on
// stories260K at T=64: no hooks, one unrelated hook (hook_resid_post of the
// last layer, which builds nothing), and every layer's pattern (which builds
// the full [H, T, T] tensors).
func BenchmarkForwardHooks(b *testing.B) {
	m, _ := open(b, fixtures.Path(b, "hf/stories260K_hf"))
	ids := storiesIDs
	for len(ids) < 64 {
		ids = append(ids, storiesIDs...)
	}
	ids = ids[:64]
	var unrelated, patterns hooks.Set
	unrelated.Add(hooks.At(m.Info().Layers-1, hooks.ResidPost), func(hooks.Point, hooks.Tensor) {})
	for l := 0; l < m.Info().Layers; l++ {
		patterns.Add(hooks.At(l, hooks.Pattern), func(hooks.Point, hooks.Tensor) {})
	}
	for _, bc := range []struct {
		name string
		hs   *hooks.Set
	}{{"nil", nil}, {"unrelated", &unrelated}, {"patterns", &patterns}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Forward(ids, bc.hs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestNewWrongArchitecture checks that llama.New refuses an OLMo checkpoint.
func TestNewWrongArchitecture(t *testing.T) {
	_, c := open(t, fixtures.Path(t, "hf/olmo_tiny"))
	if _, err := llama.New(c); err == nil || !strings.Contains(err.Error(), `"OlmoForCausalLM" is not LlamaForCausalLM or MistralForCausalLM`) {
		t.Errorf("llama.New(olmo_tiny): error %v", err)
	}
}

// TestExtend checks the KV cache: extending a state by a prefix and then one
// token at a time gives, at every position, the logits of one Forward over
// the whole sequence. The products are the same, but the matrix kernels may
// sum in another order for one row than for many, so logits of magnitude ~10
// may differ by a few float32 ulps; 1e-4 is the tolerance used against the
// reference implementations.
func TestExtend(t *testing.T) {
	for _, ckpt := range []string{"hf/stories260K_hf", "hf/olmo2_tiny_bf16", "hf/olmo_tiny"} {
		t.Run(ckpt, func(t *testing.T) {
			m, _ := open(t, fixtures.Path(t, ckpt))
			ext := m.(interface {
				NewState() *transformer.State
				Extend(*transformer.State, []int) ([]float32, error)
			})
			ids := append(append([]int{}, storiesIDs...), storiesIDs[1:]...)[:70] // > one query block
			V := m.Info().Vocab
			want, err := m.Forward(ids, nil)
			if err != nil {
				t.Fatal(err)
			}
			st := ext.NewState()
			const prefix = 5
			got, err := ext.Extend(st, ids[:prefix])
			if err != nil {
				t.Fatal(err)
			}
			for i := prefix; i < len(ids); i++ {
				next, err := ext.Extend(st, ids[i:i+1])
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, next...)
			}
			if st.Len() != len(ids) {
				t.Errorf("state holds %d tokens, want %d", st.Len(), len(ids))
			}
			for i := range ids {
				if d := maxAbsDiff(got[i*V:(i+1)*V], want[i*V:(i+1)*V]); d > 1e-4 {
					t.Errorf("position %d: incremental logits differ from Forward by %.3g", i, d)
				}
			}
			if _, err := ext.Extend(st, []int{V}); err == nil || st.Len() != len(ids) {
				t.Errorf("extending by an out-of-vocabulary token: error %v, state length %d", err, st.Len())
			}
		})
	}
}

// TestConcurrentForward checks that concurrent forward passes on one model
// give the same logits as a lone one (run with -race to check for races).
func TestConcurrentForward(t *testing.T) {
	m, _ := open(t, fixtures.Path(t, "hf/stories260K_hf"))
	var hs hooks.Set // read-only once built, so it may be shared
	hs.Add(hooks.At(1, hooks.Pattern), func(hooks.Point, hooks.Tensor) {})
	want, err := m.Forward(storiesIDs, &hs)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got, err := m.Forward(storiesIDs, &hs)
			if err == nil && maxAbsDiff(got, want) != 0 {
				err = fmt.Errorf("concurrent logits differ by %g", maxAbsDiff(got, want))
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestReusedBuffers: a pass reuses the activations of earlier ones (longer,
// shorter, hooked or not), and ForwardInto a logits buffer; the logits must
// not depend on either.
func TestReusedBuffers(t *testing.T) {
	m, _ := open(t, fixtures.Path(t, "hf/stories260K_hf"))
	var hs hooks.Set
	hs.Add(hooks.At(0, hooks.AttnScores), func(hooks.Point, hooks.Tensor) {})
	short := storiesIDs[:5]
	want, err := m.Forward(short, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, run := range []struct {
		ids []int
		hs  *hooks.Set
	}{{storiesIDs, &hs}, {short, nil}, {storiesIDs, nil}, {short, &hs}, {short, nil}} {
		dst := make([]float32, len(storiesIDs)*m.Info().Vocab)
		for i := range dst {
			dst[i] = float32(i) // stale values must be overwritten
		}
		got, err := m.(model.IntoForwarder).ForwardInto(dst, run.ids, run.hs)
		if err != nil {
			t.Fatal(err)
		}
		if &got[0] != &dst[0] || len(got) != len(run.ids)*m.Info().Vocab {
			t.Fatalf("pass %d: ForwardInto did not return its buffer cut to [T, vocab]", i)
		}
		if len(run.ids) == len(short) && maxAbsDiff(got, want) != 0 {
			t.Errorf("pass %d: logits differ by %g from the first pass on the same tokens", i, maxAbsDiff(got, want))
		}
	}
}
