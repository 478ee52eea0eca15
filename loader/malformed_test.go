package loader

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// rawSafetensors builds a safetensors file by hand: the 8-byte length, the
// header exactly as given (no validation, no padding) and dataLen zero bytes.
func rawSafetensors(header string, dataLen int) []byte {
	b := make([]byte, 8, 8+len(header)+dataLen)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, dataLen)...)
}

// TestMalformedSafetensors: every malformed file is rejected by both the
// mmap path and the in-memory path, with an error naming the file and what
// is wrong (tensor, field, expected value).
func TestMalformedSafetensors(t *testing.T) {
	ok := `{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	withLen := func(n uint64, rest string) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, n)
		return append(b, rest...)
	}
	cases := []struct {
		name string
		file []byte
		want []string
	}{
		{"shorter than 8 bytes", []byte{1, 2, 3}, []string{"file is 3 bytes", "too short"}},
		{"header length over 100 MB", withLen(200<<20, ok), []string{"header length 209715200 exceeds the 104857600-byte limit"}},
		{"header length past end of file", withLen(4096, ok), []string{"header length 4096 runs past the end", "truncated"}},
		{"header not starting with {", rawSafetensors(` `+ok, 8), []string{"header does not start with '{'"}},
		{"header not an object", rawSafetensors(`[1,2]`, 0), []string{"header does not start with '{'"}},
		{"header JSON cut short", rawSafetensors(`{"w":{"dtype":"F32"`, 0), []string{"header", "JSON ends too early"}},
		{"trailing data after header", rawSafetensors(ok+`{}`, 8), []string{"header", `unexpected "{" after the object`}},
		{"invalid UTF-8 name", rawSafetensors("{\"w\xff\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), []string{`key "w\xff" is not valid UTF-8`}},
		{"duplicate name", rawSafetensors(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8), []string{`duplicate key "w"`}},
		{"unsupported dtype F64", rawSafetensors(`{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, 8), []string{`tensor "w"`, "unsupported dtype F64"}},
		{"unsupported dtype I64", rawSafetensors(`{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, 8), []string{`tensor "ids"`, "unsupported dtype I64"}},
		{"unsupported dtype F8_E4M3", rawSafetensors(`{"w":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}}`, 8), []string{`tensor "w"`, "unsupported dtype F8_E4M3"}},
		{"unknown dtype", rawSafetensors(`{"w":{"dtype":"Q4_K","shape":[1],"data_offsets":[0,8]}}`, 8), []string{`tensor "w"`, `unknown dtype "Q4_K"`}},
		{"negative shape", rawSafetensors(`{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, 8), []string{`tensor "w"`, "shape [-2]", "negative"}},
		{"fractional shape", rawSafetensors(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}`, 8), []string{`tensor "w"`, `field "shape"`}},
		{"missing data_offsets", rawSafetensors(`{"w":{"dtype":"F32","shape":[2]}}`, 8), []string{`tensor "w"`, `missing field "data_offsets"`}},
		{"offsets begin after end", rawSafetensors(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, 8), []string{`tensor "w"`, "data_offsets [8 0]: begin after end"}},
		{"offsets outside data (file shorter than header claims)", rawSafetensors(`{"w":{"dtype":"F32","shape":[1024],"data_offsets":[0,4096]}}`, 100), []string{`tensor "w"`, "data_offsets [0 4096] run past the end of the 100-byte data section"}},
		{"overlapping tensors", rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12), []string{`tensor "b" data_offsets [4,12] overlap tensor "a" [0,8]`}},
		{"hole between tensors", rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}`, 20), []string{`tensor "b" data_offsets [12,20] leave a hole of 4 bytes after byte 8`}},
		{"hole before the first tensor", rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, 16), []string{`tensor "a" data_offsets [8,16] leave a hole of 8 bytes after byte 0`}},
		{"bytes after the last tensor", rawSafetensors(ok, 12), []string{"the tensors end at byte 8 of the 12-byte data section: 4 bytes after them belong to no tensor"}},
		{"byte length != shape × dtype size", rawSafetensors(`{"w":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,8]}}`, 8), []string{`tensor "w"`, "hold 8 bytes, but shape [2 3] of BF16 needs 12"}},
		{"metadata not string→string", rawSafetensors(`{"__metadata__":{"step":1000},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8), []string{"__metadata__", `key "step": want a string value, got 1000`}},
		{"metadata not an object", rawSafetensors(`{"__metadata__":["pt"],"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8), []string{"__metadata__", "want an object of strings"}},
		{"tensor entry not an object", rawSafetensors(`{"w":[1,2]}`, 0), []string{`tensor "w"`, "want an object with dtype, shape and data_offsets"}},
	}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("case%02d.safetensors", i))
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenSafetensors(path)
			assertErr(t, err, append([]string{path}, c.want...)...)
			_, err = OpenSafetensorsBytes("mem.safetensors", c.file)
			assertErr(t, err, append([]string{"mem.safetensors"}, c.want...)...)
		})
	}
}

// tinyConfig is a valid LlamaForCausalLM config: d=8, 2 heads of 4, 1 KV
// head, MLP 16, vocab 10, 2 layers.
func tinyConfig() map[string]any {
	return map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama",
		"hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 2,
		"num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 10,
		"max_position_embeddings": 32, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
		"tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32",
	}
}

// tinyTensors are the tensors tinyConfig needs, F32, each filled with its
// index so that shards can be told apart.
func tinyTensors(cfg *Config) []WriteTensor {
	var out []WriteTensor
	for i, ts := range testTensors(cfg) {
		n := 1
		for _, d := range ts.shape {
			n *= d
		}
		v := make([]float32, n)
		for j := range v {
			v[j] = float32(i)
		}
		out = append(out, WriteTensor{Name: ts.name, DType: F32, Shape: ts.shape, Data: f32Bytes(v...)})
	}
	return out
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeTiny writes a tiny Llama checkpoint into dir: config edited by
// editCfg, tensors edited by editTensors, in nShards shards (1: a single
// model.safetensors; more: an index and shards). It returns the index's
// weight_map for further editing by the caller (nil for one file).
func writeTiny(t *testing.T, dir string, nShards int, editCfg func(map[string]any), editTensors func([]WriteTensor) []WriteTensor) map[string]string {
	t.Helper()
	cfgMap := tinyConfig()
	b, _ := json.Marshal(cfgMap)
	cfg, err := ParseConfig("tiny", b)
	if err != nil {
		t.Fatal(err)
	}
	tensors := tinyTensors(cfg)
	if editCfg != nil {
		editCfg(cfgMap)
	}
	if editTensors != nil {
		tensors = editTensors(tensors)
	}
	writeJSON(t, filepath.Join(dir, "config.json"), cfgMap)
	if nShards == 1 {
		if err := WriteSafetensors(filepath.Join(dir, WeightsFile), tensors, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	sort.Slice(tensors, func(i, j int) bool { return tensors[i].Name < tensors[j].Name })
	wm := make(map[string]string)
	for s := range nShards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, nShards)
		var part []WriteTensor
		for i := s; i < len(tensors); i += nShards {
			part = append(part, tensors[i])
			wm[tensors[i].Name] = name
		}
		if err := WriteSafetensors(filepath.Join(dir, name), part, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	}
	writeIndex(t, dir, wm)
	return wm
}

func writeIndex(t *testing.T, dir string, wm map[string]string) {
	t.Helper()
	writeJSON(t, filepath.Join(dir, IndexFile), map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": wm})
}

func TestTinyCheckpoints(t *testing.T) {
	for _, shards := range []int{1, 3} {
		dir := t.TempDir()
		writeTiny(t, dir, shards, nil, nil)
		c, err := Open(dir)
		if err != nil {
			t.Fatalf("%d shards: %v", shards, err)
		}
		if got := len(c.Tensors.Files()); got != shards {
			t.Errorf("%d shards: %d files opened", shards, got)
		}
		// Tensor i was filled with i: check a few survive sharding.
		want := tinyTensors(c.Config)
		for i, w := range want {
			got, err := c.Expect(w.Name, w.Shape...)
			if err != nil {
				t.Fatal(err)
			}
			if v := got.Float32(); v[0] != float32(i) || v[len(v)-1] != float32(i) {
				t.Errorf("%d shards: %s holds %v, want all %d", shards, w.Name, v[0], i)
			}
		}
		if _, err := c.Expect("norm.weight", 9); err == nil {
			t.Error("Expect with a wrong shape: no error")
		} else {
			assertErr(t, err, `tensor "norm.weight": expected shape [9], got [8]`)
		}
		c.Close()
	}
}

// TestMalformedCheckpoints covers the index, shard and config/tensor cases.
func TestMalformedCheckpoints(t *testing.T) {
	cases := []struct {
		name   string
		shards int
		cfg    func(map[string]any)
		ts     func([]WriteTensor) []WriteTensor
		index  func(t *testing.T, dir string, wm map[string]string) // edits the sharded layout
		want   []string
	}{
		{name: "missing shard", shards: 3, index: func(t *testing.T, dir string, wm map[string]string) {
			os.Remove(filepath.Join(dir, "model-00002-of-00003.safetensors"))
		}, want: []string{IndexFile, `shard "model-00002-of-00003.safetensors"`, "is missing"}},
		{name: "tensor missing from its shard", shards: 3, index: func(t *testing.T, dir string, wm map[string]string) {
			wm["extra.weight"] = "model-00001-of-00003.safetensors"
			writeIndex(t, dir, wm)
		}, want: []string{`the index puts tensor "extra.weight" in shard "model-00001-of-00003.safetensors", which does not hold it`}},
		{name: "tensor in another shard than the index says", shards: 2, index: func(t *testing.T, dir string, wm map[string]string) {
			wm["norm.weight"] = map[string]string{"model-00001-of-00002.safetensors": "model-00002-of-00002.safetensors", "model-00002-of-00002.safetensors": "model-00001-of-00002.safetensors"}[wm["norm.weight"]]
			writeIndex(t, dir, wm)
		}, want: []string{`the index puts tensor "norm.weight" in shard`, "but it is in shard"}},
		{name: "same tensor in two shards", shards: 2, index: func(t *testing.T, dir string, wm map[string]string) {
			extra := []WriteTensor{{Name: "head.weight", DType: F32, Shape: []int{10, 8}, Data: make([]byte, 320)}}
			other := "model-00001-of-00002.safetensors"
			if wm["head.weight"] == other {
				other = "model-00002-of-00002.safetensors"
			}
			ts, err := OpenSafetensors(filepath.Join(dir, other))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range ts.Names() {
				x, _ := ts.Get(n)
				extra = append(extra, WriteTensor{Name: n, DType: x.DType, Shape: x.Shape, Data: append([]byte(nil), x.Bytes()...)})
			}
			ts.Close()
			if err := WriteSafetensors(filepath.Join(dir, other), extra, nil); err != nil {
				t.Fatal(err)
			}
		}, want: []string{`tensor "head.weight" is in two shards`}},
		{name: "tensor in a shard but not in the index", shards: 2, index: func(t *testing.T, dir string, wm map[string]string) {
			delete(wm, "norm.weight")
			writeIndex(t, dir, wm)
		}, want: []string{`tensor "norm.weight" in shard`, "is not listed in the index's weight_map"}},
		{name: "shard path with ..", shards: 2, index: func(t *testing.T, dir string, wm map[string]string) {
			wm["head.weight"] = "../elsewhere/model.safetensors"
			writeIndex(t, dir, wm)
		}, want: []string{`weight_map["head.weight"]: shard path "../elsewhere/model.safetensors" leaves the checkpoint directory`}},
		{name: "absolute shard path", shards: 2, index: func(t *testing.T, dir string, wm map[string]string) {
			wm["head.weight"] = "/etc/passwd"
			writeIndex(t, dir, wm)
		}, want: []string{`shard path "/etc/passwd" leaves the checkpoint directory`}},
		{name: "tensor twice in weight_map", shards: 2, index: func(t *testing.T, dir string, wm map[string]string) {
			b := []byte(`{"weight_map":{"head.weight":"a.safetensors","head.weight":"b.safetensors"}}`)
			os.WriteFile(filepath.Join(dir, IndexFile), b, 0o644)
		}, want: []string{IndexFile, `weight_map: duplicate key "head.weight"`}},
		{name: "index without weight_map", shards: 2, index: func(t *testing.T, dir string, wm map[string]string) {
			os.WriteFile(filepath.Join(dir, IndexFile), []byte(`{"metadata":{}}`), 0o644)
		}, want: []string{IndexFile, `no "weight_map" object`}},
		{name: "no weights at all", shards: 1, index: func(t *testing.T, dir string, wm map[string]string) {
			os.Remove(filepath.Join(dir, WeightsFile))
			os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), nil, 0o644)
		}, want: []string{"no model.safetensors or model.safetensors.index.json", "found: config.json, pytorch_model.bin", "safetensors only"}},
		{name: "no config.json", shards: 1, index: func(t *testing.T, dir string, wm map[string]string) {
			os.Remove(filepath.Join(dir, ConfigFile))
		}, want: []string{"no config.json", "found: model.safetensors"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			wm := writeTiny(t, dir, c.shards, c.cfg, c.ts)
			if c.index != nil {
				c.index(t, dir, wm)
			}
			ck, err := Open(dir)
			if err == nil {
				ck.Close()
			}
			assertErr(t, err, append([]string{dir}, c.want...)...)
		})
	}
}

// TestMalformedConfig: each bad config.json is rejected naming the field.
func TestMalformedConfig(t *testing.T) {
	cases := []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"zero field", func(m map[string]any) { m["num_hidden_layers"] = 0 }, `field "num_hidden_layers": 0: want a positive integer`},
		{"non-integer field", func(m map[string]any) { m["hidden_size"] = 8.5 }, `field "hidden_size": 8.5: want an integer`},
		{"string field", func(m map[string]any) { m["hidden_size"] = "8" }, `field "hidden_size": "8": want an integer`},
		{"hidden not divisible by heads", func(m map[string]any) { m["num_attention_heads"] = 3; m["num_key_value_heads"] = 3 }, `field "hidden_size": 8 is not divisible by num_attention_heads 3`},
		{"heads not divisible by kv heads", func(m map[string]any) { m["num_key_value_heads"] = 3 }, `field "num_key_value_heads": 3 does not divide num_attention_heads 2`},
		{"no architectures", func(m map[string]any) { delete(m, "architectures") }, `field "architectures": missing`},
		{"empty architectures", func(m map[string]any) { m["architectures"] = []string{} }, `field "architectures": []: want a non-empty list`},
		{"negative rope_theta", func(m map[string]any) { m["rope_theta"] = -1 }, `field "rope_theta": -1: want a positive number`},
		{"unsupported rope type", func(m map[string]any) { m["rope_scaling"] = map[string]any{"rope_type": "yarn", "factor": 4} }, `field "rope_scaling": unsupported rope type "yarn"`},
		{"llama3 rope without original_max", func(m map[string]any) {
			m["rope_scaling"] = map[string]any{"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4}
		}, `field "rope_scaling.original_max_position_embeddings": missing`},
		{"llama3 rope high <= low", func(m map[string]any) {
			m["rope_scaling"] = map[string]any{"rope_type": "llama3", "factor": 8, "low_freq_factor": 4, "high_freq_factor": 4, "original_max_position_embeddings": 8192}
		}, `field "rope_scaling.high_freq_factor": 4 must exceed low_freq_factor 4`},
		{"linear rope without factor", func(m map[string]any) { m["rope_scaling"] = map[string]any{"type": "linear"} }, `field "rope_scaling.factor": want a positive number for rope type "linear"`},
		{"rope_parameters theta disagrees", func(m map[string]any) {
			m["rope_parameters"] = map[string]any{"rope_type": "default", "rope_theta": 5e5}
		}, `field "rope_parameters.rope_theta": 500000 disagrees with rope_theta 10000`},
		{"negative clip_qkv", func(m map[string]any) { m["clip_qkv"] = -1 }, `field "clip_qkv": -1: want a positive number or null`},
		{"bad bos id", func(m map[string]any) { m["bos_token_id"] = "s" }, `field "bos_token_id": "s": want an integer, a list of integers or null`},
		{"bad eos list", func(m map[string]any) { m["eos_token_id"] = []any{2, "x"} }, `field "eos_token_id": "x": want an integer`},
		{"tie not bool", func(m map[string]any) { m["tie_word_embeddings"] = "yes" }, `field "tie_word_embeddings": "yes": want true or false`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := tinyConfig()
			c.edit(m)
			b, _ := json.Marshal(m)
			_, err := ParseConfig("dir/config.json", b)
			assertErr(t, err, "dir/config.json", c.want)
		})
	}
	for _, bad := range []string{``, `[]`, `{"a":1,"a":2}`, `{"architectures":["LlamaForCausalLM"]`, "{\"architectures\xff\":1}"} {
		_, err := ParseConfig("c.json", []byte(bad))
		assertErr(t, err, "c.json: not a valid config.json")
		if err != nil && !strings.Contains(err.Error(), "c.json") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
