package loader

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSafetensorsHeader feeds arbitrary bytes to the safetensors reader: it
// must return an error or valid views, never panic, and every tensor it
// accepts must be readable within the input.
func FuzzSafetensorsHeader(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "seed.safetensors")
	err := WriteSafetensors(path, []WriteTensor{
		{Name: "a", DType: F32, Shape: []int{2, 2}, Data: f32Bytes(1, 2, 3, 4)},
		{Name: "b", DType: BF16, Shape: []int{3}, Data: bf16Bytes(1, 2, 3)},
		{Name: "c", DType: F16, Shape: []int{0}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(readFile(f, path))
	f.Add(rawSafetensors(`{}`, 0))
	f.Add(rawSafetensors(`{"__metadata__":{"k":"v"}}`, 0))
	f.Add(rawSafetensors(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8))
	f.Add(rawSafetensors(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8))
	f.Add(rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12))
	f.Add(rawSafetensors(`{"w":{"dtype":"BF16","shape":[9223372036854775807,2],"data_offsets":[0,8]}}`, 8))
	f.Add(rawSafetensors(`{"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}  `, 4))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := OpenSafetensorsBytes("fuzz", data)
		if err != nil {
			return
		}
		for _, name := range ts.Names() {
			tensor, err := ts.Get(name)
			if err != nil {
				t.Fatalf("Names lists %q but Get fails: %v", name, err)
			}
			if len(tensor.Bytes()) != tensor.Len()*tensor.DType.Size() {
				t.Fatalf("%q: %d bytes for %v of %s", name, len(tensor.Bytes()), tensor.Shape, tensor.DType)
			}
			if len(tensor.Bytes()) <= 1<<20 {
				tensor.Float32()
			}
			if m, err := tensor.Matrix(); err == nil && m.Rows > 0 && m.Cols > 0 && len(m.Data) <= 1<<20 {
				m.Row(m.Rows-1, make([]float32, m.Cols))
			}
		}
	})
}

// FuzzParseConfig feeds arbitrary bytes to ParseConfig: an error or a config
// whose sizes are consistent, never a panic.
func FuzzParseConfig(f *testing.F) {
	b, _ := json.Marshal(tinyConfig())
	f.Add(b)
	for _, s := range []string{
		`{"architectures":["OlmoForCausalLM"],"hidden_size":64,"intermediate_size":176,"num_hidden_layers":3,"num_attention_heads":4,"vocab_size":512,"clip_qkv":1.0,"bos_token_id":null,"eos_token_id":[2,3]}`,
		`{"architectures":["Olmo2ForCausalLM"],"hidden_size":64,"intermediate_size":176,"num_hidden_layers":3,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":512,"rms_norm_eps":1e-6,"rope_parameters":{"rope_type":"default","rope_theta":500000.0}}`,
		`{"architectures":["LlamaForCausalLM"],"hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"vocab_size":128256,"rope_theta":500000.0,"rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},"bos_token_id":128000,"eos_token_id":[128001,128008,128009]}`,
		`{"architectures":["MistralForCausalLM"],"hidden_size":4096,"intermediate_size":14336,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,"head_dim":128,"vocab_size":32768,"sliding_window":null,"rope_scaling":{"type":"linear","factor":2}}`,
		`{"architectures":["BigramBackcopyTransformer"],"hidden_size":256,"num_attention_heads":1}`,
		`{"architectures":["X"]}`,
		`{"architectures":[]}`,
		`{"a":1,"a":1}`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz", data)
		if err != nil {
			return
		}
		if c.Architecture == "" || c.Raw == nil {
			t.Fatalf("accepted config without architecture: %+v", c)
		}
		if c.NumHeads > 0 && c.NumKVHeads > 0 && c.NumHeads%c.NumKVHeads != 0 {
			t.Fatalf("accepted kv heads that do not divide the heads: %+v", c)
		}
		for _, v := range []int{c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKVHeads, c.HeadDim, c.VocabSize} {
			if v < 0 {
				t.Fatalf("accepted a negative size: %+v", c)
			}
		}
		if c.RMSNormEps < 0 || c.RopeTheta < 0 {
			t.Fatalf("accepted a negative eps or rope_theta: %+v", c)
		}
	})
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := readAll(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzShardIndex feeds mutated model.safetensors.index.json documents to
// the sharded opener, over two shards that exist (a.safetensors holding x
// and y, b.safetensors holding z): an error or a set of tensors that is
// exactly the index's, each from the shard the index names; never a panic.
func FuzzShardIndex(f *testing.F) {
	shards := map[string][]byte{}
	for name, tensors := range map[string][]string{"a.safetensors": {"x", "y"}, "b.safetensors": {"z"}} {
		var ws []WriteTensor
		for _, tn := range tensors {
			ws = append(ws, WriteTensor{Name: tn, DType: F32, Shape: []int{2}, Data: f32Bytes(1, 2)})
		}
		p := filepath.Join(f.TempDir(), name)
		if err := WriteSafetensors(p, ws, nil); err != nil {
			f.Fatal(err)
		}
		shards[name] = readFile(f, p)
	}
	f.Add([]byte(`{"metadata":{"total_size":24},"weight_map":{"x":"a.safetensors","y":"a.safetensors","z":"b.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"x":"a.safetensors","y":"b.safetensors","z":"b.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"x":"a.safetensors","y":"a.safetensors","z":"../b.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"x":"a.safetensors","y":"a.safetensors","z":"c.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"x":"a.safetensors","x":"a.safetensors","y":"a.safetensors","z":"b.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{}}`))
	f.Add([]byte(`{"weight_map":[1]}`))
	f.Fuzz(func(t *testing.T, index []byte) {
		open := func(shard string) (*Tensors, error) {
			b, ok := shards[shard]
			if !ok {
				return nil, fmt.Errorf("shard %s: %w", shard, fs.ErrNotExist)
			}
			return OpenSafetensorsBytes(shard, b)
		}
		ts, err := openSharded("fuzz/model.safetensors.index.json", index, open)
		if err != nil {
			if !strings.Contains(err.Error(), "model.safetensors.index.json") && !strings.Contains(err.Error(), ".safetensors") {
				t.Fatalf("error %q names neither the index nor a shard", err)
			}
			return
		}
		defer ts.Close()
		want := map[string]string{"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}
		names := ts.Names()
		for _, n := range names {
			tn, err := ts.Get(n)
			if err != nil || tn.File != want[n] {
				t.Fatalf("tensor %q: %v, from %q; want it from %q", n, err, tn.File, want[n])
			}
		}
		if len(names) == 0 || len(names) > 3 {
			t.Fatalf("accepted index gives tensors %v", names)
		}
	})
}
