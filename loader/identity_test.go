package loader_test

import (
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/loader"
)

// BenchmarkIdentify measures the checkpoint hash on the 1.1 MB stories260K
// fixture (sha256 of every tensor, spread over the cores).
func BenchmarkIdentify(b *testing.B) {
	ck, err := loader.Open(fixtures.Path(b, "hf/stories260K_hf"))
	if err != nil {
		b.Fatal(err)
	}
	defer ck.Close()
	var n int64
	for _, name := range ck.Tensors.Names() {
		tn, _ := ck.Tensors.Get(name)
		n += int64(len(tn.Bytes()))
	}
	b.SetBytes(n)
	for b.Loop() {
		if _, err := loader.Identify(ck, nil); err != nil {
			b.Fatal(err)
		}
	}
}
