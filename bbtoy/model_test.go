package bbtoy

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
)

var _ model.Model = (*Model)(nil)

func smallModel(t *testing.T, layers int, attn string) *Model {
	t.Helper()
	task := BuiltinTask()
	c := DefaultConfig(task, 16, layers)
	c.Heads, c.Attention = 2, attn
	m, err := NewModel(c, task, 9)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSaveOpen writes a checkpoint, reads it back through the loader and
// checks the logits are bit-identical (float32 weights are stored exactly).
func TestSaveOpen(t *testing.T) {
	m := smallModel(t, 2, ReLU)
	m.cfg.NoMLP[1] = true
	m, _ = newModel(m.cfg, m.task, nil)
	m.lay.init(m.params, rand.New(rand.NewPCG(1, 1)))
	m.SetTraining(&TrainInfo{Step: 7, Optimizer: AdamW, LR: 1e-3, Batch: 4, Seed: 1})
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	ck, err := loader.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	m2, err := New(ck)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Training() == nil || m2.Training().Step != 7 {
		t.Errorf("training info %+v, want step 7", m2.Training())
	}
	if m2.Config().Attention != ReLU || !m2.Config().NoMLP[1] || m2.Info() != m.Info() {
		t.Errorf("config %+v, want %+v", m2.Config(), m.Config())
	}
	seq := m.task.Generate(rand.New(rand.NewPCG(2, 2)), 1)[0][:40]
	a, _ := m.Forward(seq, nil)
	b, err := m2.Forward(seq, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("logit %d: %v after reload, want %v", i, b[i], a[i])
		}
	}
}

// TestHooks checks the hook shapes and semantics: patterns are causal rows
// summing to 1 (softmax), scores are -Inf above the diagonal, zeroing the
// attention output equals a model without attention in that layer, and
// HeadOutput of the captured z reproduces hook_attn_out.
func TestHooks(t *testing.T) {
	m := smallModel(t, 2, Softmax)
	seq := m.task.Generate(rand.New(rand.NewPCG(3, 3)), 1)[0][:70]
	T, H, dh, d := len(seq), m.cfg.Heads, m.cfg.HeadDim(), m.cfg.D
	var hs hooks.Set
	cache := hooks.Cache{}
	cache.Capture(&hs, hooks.Points(m.cfg.Layers)...)
	logits, err := m.Forward(seq, &hs)
	if err != nil {
		t.Fatal(err)
	}
	if len(cache) != len(hooks.Points(2)) {
		t.Errorf("%d hook points ran, want %d", len(cache), len(hooks.Points(2)))
	}
	want := map[hooks.Point][]int{
		hooks.Global(hooks.Embed): {T, d}, hooks.At(1, hooks.AttnQ): {T, H, dh}, hooks.At(1, hooks.AttnV): {T, H, dh},
		hooks.At(0, hooks.AttnScores): {H, T, T}, hooks.At(0, hooks.Pattern): {H, T, T}, hooks.At(0, hooks.Z): {T, H, dh},
		hooks.At(1, hooks.ResidPost): {T, d}, hooks.Global(hooks.Logits): {T, m.cfg.Vocab},
	}
	for p, shape := range want {
		if got := cache[p].Shape; len(got) != len(shape) || len(cache[p].Data) != prod(shape) {
			t.Errorf("%v: shape %v (%d values), want %v", p, got, len(cache[p].Data), shape)
		}
	}
	pat, sc := cache[hooks.At(0, hooks.Pattern)].Data, cache[hooks.At(0, hooks.AttnScores)].Data
	for h := 0; h < H; h++ {
		for i := 0; i < T; i++ {
			var s float64
			for j := 0; j < T; j++ {
				v := pat[h*T*T+i*T+j]
				if j > i && (v != 0 || !math.IsInf(float64(sc[h*T*T+i*T+j]), -1)) {
					t.Fatalf("head %d query %d key %d: pattern %v, score %v above the diagonal, want 0, -Inf", h, i, j, v, sc[h*T*T+i*T+j])
				}
				s += float64(v)
			}
			if math.Abs(s-1) > 1e-5 { // float32 softmax rounding
				t.Fatalf("head %d query %d: pattern row sums to %v, want 1", h, i, s)
			}
		}
	}
	// Σ_h W_O^(h) z_h = hook_attn_out, to float32 accuracy.
	z, ao := cache[hooks.At(1, hooks.Z)].Data, cache[hooks.At(1, hooks.AttnOut)].Data
	out := make([]float32, d)
	for i := 0; i < T; i++ {
		sum := make([]float64, d)
		for h := 0; h < H; h++ {
			m.HeadOutput(1, h, out, z[i*d+h*dh:i*d+(h+1)*dh])
			for k, v := range out {
				sum[k] += float64(v)
			}
		}
		for k := range sum {
			if math.Abs(sum[k]-float64(ao[i*d+k])) > 1e-5 {
				t.Fatalf("position %d dim %d: Σ HeadOutput %v, hook_attn_out %v", i, k, sum[k], ao[i*d+k])
			}
		}
	}
	// Zeroing layer 0's attention output = a model whose layer 0 has no attention
	// (same remaining weights): bit-identical logits.
	var zs hooks.Set
	zs.Add(hooks.ZeroAttention(0))
	zl, _ := m.Forward(seq, &zs)
	c := m.Config()
	c.NoAttn[0] = true
	m2, _ := newModel(c, m.task, nil)
	for _, s := range m2.lay.specs {
		for _, s1 := range m.lay.specs {
			if s1.name == s.name {
				copy(m2.params[s.off:s.off+s.n], m.params[s1.off:s1.off+s1.n])
			}
		}
	}
	nl, _ := m2.Forward(seq, nil)
	for i := range zl {
		if zl[i] != nl[i] {
			t.Fatalf("logit %d: %v with hook_attn_out zeroed, %v without attention", i, zl[i], nl[i])
		}
	}
	if zl[0] == logits[0] && zl[len(zl)-1] == logits[len(logits)-1] {
		t.Error("zeroing the attention changed nothing")
	}
	// Forcing the pattern onto key 0 makes every position's z equal v_0.
	var fs hooks.Set
	fs.Add(hooks.ForceFirstKey(0, 1))
	zc := hooks.Cache{}
	zc.Capture(&fs, hooks.At(0, hooks.Z), hooks.At(0, hooks.AttnV))
	m.Forward(seq, &fs)
	z0, v0 := zc[hooks.At(0, hooks.Z)].Data, zc[hooks.At(0, hooks.AttnV)].Data
	for i := 0; i < T; i++ {
		for k := 0; k < dh; k++ {
			if z0[i*d+dh+k] != v0[dh+k] {
				t.Fatalf("position %d: z = %v with the pattern forced to key 0, want v_0 = %v", i, z0[i*d+dh+k], v0[dh+k])
			}
		}
	}
}

func prod(s []int) int {
	n := 1
	for _, v := range s {
		n *= v
	}
	return n
}

func TestForwardErrors(t *testing.T) {
	m := smallModel(t, 1, Softmax)
	for _, tokens := range [][]int{nil, {65, 67}, {-1}, make([]int, 257)} {
		if _, err := m.Forward(tokens, nil); err == nil {
			t.Errorf("Forward(%d tokens, ...) succeeded, want an error", len(tokens))
		}
	}
}

// TestNewErrors: malformed BB checkpoints are errors naming what is wrong.
func TestNewErrors(t *testing.T) {
	m := smallModel(t, 1, Softmax)
	tests := []struct {
		name string
		edit func(cfg string) string
		want string
	}{
		{"heads do not divide d", func(c string) string {
			return strings.Replace(c, `"num_attention_heads": 2`, `"num_attention_heads": 3`, 1)
		}, "num_attention_heads"},
		{"unknown attention", func(c string) string {
			return strings.Replace(c, `"attention": "softmax"`, `"attention": "linear"`, 1)
		}, "attention"},
		{"vocab mismatch", func(c string) string { return strings.Replace(c, `"vocab_size": 67`, `"vocab_size": 68`, 1) }, "vocab"},
		{"layer count vs tensors", func(c string) string {
			c = strings.Replace(c, `"num_hidden_layers": 1`, `"num_hidden_layers": 2`, 1)
			return strings.NewReplacer(`"no_attn": [
  false
 ]`, `"no_attn": [false, false]`, `"no_mlp": [
  false
 ]`, `"no_mlp": [false, false]`).Replace(c)
		}, "layers.1"},
		{"bad trigger", func(c string) string { return strings.Replace(c, `"triggers": [1,43,58]`, `"triggers": [1,43,99]`, 1) }, "trigger"},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		if err := m.Save(dir); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "config.json")
		b, _ := os.ReadFile(p)
		edited := tc.edit(string(b))
		if edited == string(b) {
			t.Fatalf("%s: edit did not apply", tc.name)
		}
		os.WriteFile(p, []byte(edited), 0o644)
		ck, err := loader.Open(dir)
		if err == nil {
			_, err = New(ck)
			ck.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.want)
		}
	}
}
