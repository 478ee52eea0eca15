package loader

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// assertErr fails unless err is non-nil and its message contains every want.
func assertErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\n does not contain %q", err, w)
		}
	}
}

func readAll(path string) ([]byte, error) { return os.ReadFile(path) }

// tensorShape is one tensor a test checkpoint holds.
type tensorShape struct {
	name  string
	shape []int
}

// testTensors lists tensors shaped like a decoder of c's sizes, under
// neutral names: the loader knows no family, and its tests need only
// realistic sizes and several tensors per layer.
func testTensors(c *Config) []tensorShape {
	d, q, kv, ff, V := c.HiddenSize, c.NumHeads*c.HeadDim, c.NumKVHeads*c.HeadDim, c.IntermediateSize, c.VocabSize
	out := []tensorShape{{"embed.weight", []int{V, d}}, {"head.weight", []int{V, d}}, {"norm.weight", []int{d}}}
	for l := range c.NumLayers {
		p := fmt.Sprintf("layers.%d.", l)
		out = append(out,
			tensorShape{p + "q", []int{q, d}}, tensorShape{p + "k", []int{kv, d}}, tensorShape{p + "v", []int{kv, d}},
			tensorShape{p + "o", []int{d, q}}, tensorShape{p + "gate", []int{ff, d}}, tensorShape{p + "up", []int{ff, d}},
			tensorShape{p + "down", []int{d, ff}}, tensorShape{p + "norm1", []int{d}}, tensorShape{p + "norm2", []int{d}})
	}
	return out
}
