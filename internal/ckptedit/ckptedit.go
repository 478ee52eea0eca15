// Package ckptedit writes edited copies of checkpoints, for tests that check
// an intervention (a hook that zeroes or scales a head, say) against the same
// change made to the weights.
package ckptedit

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/sinkscope/sinkscope/loader"
)

// An Edit changes the float32 values x of the tensor name (of the given
// shape) in place, or leaves them.
type Edit func(name string, shape []int, x []float32)

// Copy writes a float32 copy of the checkpoint in src (config.json and
// model.safetensors) into a temporary directory of t, after edit has changed
// the tensors it wants, and returns the directory. An f32 source is copied
// bit for bit except for the edits.
func Copy(t testing.TB, src string, edit Edit) string {
	t.Helper()
	c, err := loader.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ws []loader.WriteTensor
	for _, name := range c.Tensors.Names() {
		tn, err := c.Tensors.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		x := tn.Float32()
		edit(name, tn.Shape, x)
		data := make([]byte, 4*len(x))
		for i, v := range x {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		ws = append(ws, loader.WriteTensor{Name: name, DType: loader.F32, Shape: tn.Shape, Data: data})
	}
	dir := t.TempDir()
	if err := loader.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ws, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// ScaleHead multiplies the o_proj columns of head h in layer l (head_dim
// headDim) by s, the weight-space twin of hooks.ScaleHead (s = 0: of
// hooks.ZeroHead).
func ScaleHead(l, h, headDim int, s float32) Edit {
	target := fmt.Sprintf("model.layers.%d.self_attn.o_proj.weight", l)
	return func(name string, shape []int, x []float32) {
		if name != target {
			return
		}
		cols := shape[1]
		for r := 0; r < shape[0]; r++ {
			for j := h * headDim; j < (h+1)*headDim; j++ {
				x[r*cols+j] *= s
			}
		}
	}
}
