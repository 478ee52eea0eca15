package llama_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/ckptedit"
	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// storiesIDs is the 37-token input of the stories260K references.
var storiesIDs = []int{1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396,
	267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432, 358, 394}

// TestInterventionsMatchEditedWeights checks each intervention against the
// plain forward of a checkpoint copy whose weights make the same change:
// zeroing (or scaling) head h's slice of hook_z equals zeroing (scaling) its
// o_proj columns, zeroing hook_mlp_out equals a zero down_proj, and zeroing
// hook_attn_out equals a zero o_proj. The two computations differ only in
// which operand of a product is zero (or halved, which is exact), so 1e-5 on
// logits of magnitude ~10 is loose.
func TestInterventionsMatchEditedWeights(t *testing.T) {
	src := fixtures.Path(t, "hf/stories260K_hf")
	m, _ := open(t, src)
	in := m.Info()
	dh := in.HeadDim
	oProj := func(l int) string { return fmt.Sprintf("model.layers.%d.self_attn.o_proj.weight", l) }
	scaleCols := func(l, h int, s float32) ckptedit.Edit { return ckptedit.ScaleHead(l, h, dh, s) }
	zeroTensor := func(want string) ckptedit.Edit {
		return func(name string, _ []int, x []float32) {
			if name == want {
				clear(x)
			}
		}
	}
	type intervention = func() (hooks.Point, hooks.Func)
	cases := []struct {
		name string
		iv   intervention
		edit ckptedit.Edit
	}{
		{"ZeroHead(2,5)", func() (hooks.Point, hooks.Func) { return hooks.ZeroHead(2, 5) }, scaleCols(2, 5, 0)},
		{"ZeroHead(0,0)", func() (hooks.Point, hooks.Func) { return hooks.ZeroHead(0, 0) }, scaleCols(0, 0, 0)},
		{"ScaleHead(4,7,0.5)", func() (hooks.Point, hooks.Func) { return hooks.ScaleHead(4, 7, 0.5) }, scaleCols(4, 7, 0.5)},
		{"ZeroMLP(1)", func() (hooks.Point, hooks.Func) { return hooks.ZeroMLP(1) }, zeroTensor("model.layers.1.mlp.down_proj.weight")},
		{"ZeroAttention(3)", func() (hooks.Point, hooks.Func) { return hooks.ZeroAttention(3) }, zeroTensor(oProj(3))},
	}

	plain, err := m.Forward(storiesIDs, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hs hooks.Set
			hs.Add(tc.iv())
			hooked, err := m.Forward(storiesIDs, &hs)
			if err != nil {
				t.Fatal(err)
			}
			edited, _ := open(t, ckptedit.Copy(t, src, tc.edit))
			want, err := edited.Forward(storiesIDs, nil)
			if err != nil {
				t.Fatal(err)
			}
			diff := maxAbsDiff(hooked, want)
			t.Logf("%s: max |logit difference| to the edited checkpoint %.3g (to the plain forward %.3g)",
				tc.name, diff, maxAbsDiff(hooked, plain))
			if diff > 1e-5 {
				t.Errorf("hooked forward differs from the edited checkpoint by %.3g > 1e-5", diff)
			}
			if maxAbsDiff(hooked, plain) < 1e-3 {
				t.Errorf("the intervention changed the logits by less than 1e-3: not exercised")
			}
		})
	}
}

// TestForceFirstKey checks that forcing a head's pattern onto key 0 makes its
// hook_z at every position equal its KV head's value at position 0 (GQA:
// query head h reads KV head h/(H/KV)), and leaves the other heads alone.
func TestForceFirstKey(t *testing.T) {
	m, _ := open(t, fixtures.Path(t, "hf/stories260K_hf"))
	in := m.Info()
	T, H, KV, dh := len(storiesIDs), in.Heads, in.KVHeads, in.HeadDim
	for _, lh := range [][2]int{{0, 0}, {2, 3}, {4, 7}} {
		l, h := lh[0], lh[1]
		t.Run(fmt.Sprintf("layer%d_head%d", l, h), func(t *testing.T) {
			var plainHS, hs hooks.Set
			plain, forced := hooks.Cache{}, hooks.Cache{}
			plain.Capture(&plainHS, hooks.At(l, hooks.Z))
			hs.Add(hooks.ForceFirstKey(l, h))
			forced.Capture(&hs, hooks.At(l, hooks.Z), hooks.At(l, hooks.AttnV))
			if _, err := m.Forward(storiesIDs, &plainHS); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Forward(storiesIDs, &hs); err != nil {
				t.Fatal(err)
			}
			z, v, z0 := forced[hooks.At(l, hooks.Z)].Data, forced[hooks.At(l, hooks.AttnV)].Data, plain[hooks.At(l, hooks.Z)].Data
			kv := h / (H / KV)
			v0 := v[kv*dh : (kv+1)*dh]
			for i := 0; i < T; i++ {
				for g := 0; g < H; g++ {
					got := z[(i*H+g)*dh : (i*H+g+1)*dh]
					want := z0[(i*H+g)*dh : (i*H+g+1)*dh]
					if g == h {
						want = v0 // a one-hot pattern picks v_0 exactly: 1·v_0 + 0·(rest)
					}
					if d := maxAbsDiff(got, want); d > 1e-7 {
						t.Errorf("position %d head %d: hook_z differs by %.3g from %s", i, g, d,
							map[bool]string{true: "v at position 0", false: "the plain forward"}[g == h])
					}
				}
			}
		})
	}
}

// TestAttentionPaths checks that the blocked attention used when no
// score/pattern hook is set gives the same logits as the full-pattern path,
// on a sequence longer than one query block.
func TestAttentionPaths(t *testing.T) {
	m, _ := open(t, fixtures.Path(t, "hf/stories260K_hf"))
	rng := rand.New(rand.NewPCG(7, 7))
	ids := make([]int, 150)
	for i := range ids {
		ids[i] = rng.IntN(m.Info().Vocab)
	}
	blocked, err := m.Forward(ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hs hooks.Set
	for l := 0; l < m.Info().Layers; l++ {
		hs.Add(hooks.At(l, hooks.Pattern), func(hooks.Point, hooks.Tensor) {})
	}
	full, err := m.Forward(ids, &hs)
	if err != nil {
		t.Fatal(err)
	}
	// Same products; the matrix kernel may order sums differently for the
	// two shapes (a few float32 ulps on logits of ~10), while a masking or
	// indexing mistake would change logits by far more than 1e-5.
	if d := maxAbsDiff(blocked, full); d > 1e-5 {
		t.Errorf("blocked and full attention differ by %.3g on logits (> 1e-5)", d)
	}
}
