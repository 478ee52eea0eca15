package hooks

import (
	"fmt"
	"reflect"
	"testing"
)

func TestSetRunOrderAndNil(t *testing.T) {
	var nilSet *Set
	if nilSet.Has(Global(Logits)) || !nilSet.Empty() {
		t.Fatal("a nil set must be empty")
	}
	nilSet.Run(Global(Logits), Tensor{}) // must not panic

	var s Set
	var order []int
	p := At(0, Z)
	s.Add(p, func(Point, Tensor) { order = append(order, 1) })
	s.Add(p, func(Point, Tensor) { order = append(order, 2) })
	if !s.Has(p) || s.Has(At(1, Z)) || s.Empty() {
		t.Fatal("Has/Empty wrong")
	}
	s.Run(p, Tensor{})
	s.Run(At(1, Z), Tensor{})
	if !reflect.DeepEqual(order, []int{1, 2}) {
		t.Fatalf("hooks ran in order %v, want [1 2]", order)
	}
}

func TestCacheCopies(t *testing.T) {
	var s Set
	c := Cache{}
	p := At(2, ResidPost)
	c.Capture(&s, p)
	buf := []float32{1, 2, 3, 4}
	s.Run(p, Tensor{Shape: []int{2, 2}, Data: buf})
	buf[0] = 99 // the model reuses its buffer
	if got := c[p]; got.Data[0] != 1 || !reflect.DeepEqual(got.Shape, []int{2, 2}) {
		t.Fatalf("cache holds %+v, want an independent copy of [1 2 3 4] shape [2 2]", got)
	}
}

func TestInterventions(t *testing.T) {
	// hook_z [T=2, H=2, dh=2]
	z := func() Tensor { return Tensor{Shape: []int{2, 2, 2}, Data: []float32{1, 2, 3, 4, 5, 6, 7, 8}} }
	// hook_pattern [H=2, T=2, T=2]
	pat := func() Tensor {
		return Tensor{Shape: []int{2, 2, 2}, Data: []float32{1, 0, 0.25, 0.75, 1, 0, 0.5, 0.5}}
	}
	resid := func() Tensor { return Tensor{Shape: []int{1, 3}, Data: []float32{1, -2, 3}} }
	for _, tc := range []struct {
		name      string
		make      func() (Point, Func)
		in        Tensor
		want      []float32
		wantPoint Point
	}{
		{"zero head 1", func() (Point, Func) { return ZeroHead(4, 1) }, z(), []float32{1, 2, 0, 0, 5, 6, 0, 0}, At(4, Z)},
		{"scale head 0 by 2", func() (Point, Func) { return ScaleHead(4, 0, 2) }, z(), []float32{2, 4, 3, 4, 10, 12, 7, 8}, At(4, Z)},
		{"force head 1 to key 0", func() (Point, Func) { return ForceFirstKey(4, 1) }, pat(), []float32{1, 0, 0.25, 0.75, 1, 0, 1, 0}, At(4, Pattern)},
		{"zero attention", func() (Point, Func) { return ZeroAttention(4) }, resid(), []float32{0, 0, 0}, At(4, AttnOut)},
		{"zero mlp", func() (Point, Func) { return ZeroMLP(4) }, resid(), []float32{0, 0, 0}, At(4, MLPOut)},
	} {
		p, f := tc.make()
		if p != tc.wantPoint {
			t.Errorf("%s: point %v, want %v", tc.name, p, tc.wantPoint)
		}
		f(p, tc.in)
		if !reflect.DeepEqual(tc.in.Data, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.in.Data, tc.want)
		}
	}
}

func ExampleParse() {
	p, err := Parse("blocks.16.attn.hook_pattern")
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Layer, p.Kind == Pattern, p)
	// Output: 16 true blocks.16.attn.hook_pattern
}

func ExampleMatch() {
	ps, _ := Match("blocks.*.hook_resid_post", 2)
	fmt.Println(ps)
	// Output: [blocks.0.hook_resid_post blocks.1.hook_resid_post]
}
