package loader_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sinkscope/sinkscope/loader"
)

func ExampleWriteSafetensors() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")

	// Two bf16 values: 1.0 (0x3f80) and -2.0 (0xc000), little-endian.
	err = loader.WriteSafetensors(path, []loader.WriteTensor{
		{Name: "w", DType: loader.BF16, Shape: []int{1, 2}, Data: []byte{0x80, 0x3f, 0x00, 0xc0}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}
	ts, err := loader.OpenSafetensors(path)
	if err != nil {
		log.Fatal(err)
	}
	defer ts.Close()
	w, err := ts.Get("w")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(w.Name, w.DType, w.Shape, w.Float32())
	// Output: w BF16 [1 2] [1 -2]
}

func ExampleOpenSafetensorsBytes() {
	// A file whose header claims more data than there is.
	header := `{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`
	file := append([]byte{byte(len(header)), 0, 0, 0, 0, 0, 0, 0}, header...)
	file = append(file, make([]byte, 8)...)
	_, err := loader.OpenSafetensorsBytes("truncated.safetensors", file)
	fmt.Println(err)
	// Output: loader: truncated.safetensors: tensor "w": data_offsets [0 16] run past the end of the 8-byte data section (file truncated?)
}

func ExampleParseModelID() {
	repo, rev, ok := loader.ParseModelID("allenai/OLMo-1B-0724-hf@step1000-tokens4B")
	fmt.Println(repo, rev, ok)
	// Output: allenai/OLMo-1B-0724-hf step1000-tokens4B true
}
