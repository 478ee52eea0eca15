package loader

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
)

// fixtureCheckpoints are the Hugging Face-format checkpoints of the shared
// fixtures (MANIFEST.md sections 2 and 7) with the facts each must show.
var fixtureCheckpoints = []struct {
	dir                      string
	arch                     string
	layers, heads, kv, hd, d int
	dtype                    DType
	tied                     bool
	clip                     float64
	eps                      float64
	theta                    float64
	bos                      int
	tensors                  int
	tokenizer                bool
}{
	{"hf/stories260K_hf", "LlamaForCausalLM", 5, 8, 4, 8, 64, F32, true, 0, 1e-5, 1e4, 1, 1 + 1 + 5*9, true},
	{"hf/stories260K_hf_bf16", "LlamaForCausalLM", 5, 8, 4, 8, 64, BF16, true, 0, 1e-5, 1e4, 1, 1 + 1 + 5*9, true},
	{"hf/olmo_tiny", "OlmoForCausalLM", 3, 4, 4, 16, 64, F32, false, 1, 0, 1e4, -1, 2 + 3*7, false},
	{"hf/olmo_tiny_bf16", "OlmoForCausalLM", 3, 4, 4, 16, 64, BF16, false, 1, 0, 1e4, -1, 2 + 3*7, false},
	{"hf/olmo2_tiny", "Olmo2ForCausalLM", 3, 4, 2, 16, 64, F32, false, 0, 1e-6, 5e5, -1, 3 + 3*11, false},
	{"hf/olmo2_tiny_bf16", "Olmo2ForCausalLM", 3, 4, 2, 16, 64, BF16, false, 0, 1e-6, 5e5, -1, 3 + 3*11, false},
	{"hf/shakespeare_llama", "LlamaForCausalLM", 4, 8, 4, 16, 128, F32, false, 0, 1e-5, 1e4, 1, 3 + 4*9, true},
	{"hf/shakespeare_llama_bf16", "LlamaForCausalLM", 4, 8, 4, 16, 128, BF16, false, 0, 1e-5, 1e4, 1, 3 + 4*9, true},
}

// TestFixtureCheckpoints opens every shared HF checkpoint and checks each
// tensor against the file's bytes, parsed here independently of the loader:
// Bytes() must be the exact stored bytes and Float32() the exact values
// (F32 bit patterns, BF16 as bits<<16), compared bit for bit (tolerance 0:
// the conversions are exact).
func TestFixtureCheckpoints(t *testing.T) {
	for _, fx := range fixtureCheckpoints {
		t.Run(filepath.Base(fx.dir), func(t *testing.T) {
			dir := fixtures.Path(t, fx.dir)
			c, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cfg := c.Config
			if cfg.Architecture != fx.arch || cfg.NumLayers != fx.layers || cfg.NumHeads != fx.heads ||
				cfg.NumKVHeads != fx.kv || cfg.HeadDim != fx.hd || cfg.HiddenSize != fx.d ||
				cfg.TieWordEmbeddings != fx.tied || cfg.ClipQKV != fx.clip || cfg.RMSNormEps != fx.eps ||
				cfg.RopeTheta != fx.theta || cfg.BOSTokenID != fx.bos || cfg.RopeScaling != nil {
				t.Errorf("config = %+v", *cfg)
			}
			if got := (c.TokenizerPath != ""); got != fx.tokenizer {
				t.Errorf("TokenizerPath = %q, want present=%v", c.TokenizerPath, fx.tokenizer)
			}

			raw, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			hlen := binary.LittleEndian.Uint64(raw)
			var header map[string]json.RawMessage
			if err := json.Unmarshal(raw[8:8+hlen], &header); err != nil {
				t.Fatal(err)
			}
			delete(header, "__metadata__")
			if len(header) != fx.tensors || len(c.Tensors.Names()) != fx.tensors {
				t.Errorf("%d tensors in the header, %d loaded, want %d", len(header), len(c.Tensors.Names()), fx.tensors)
			}
			data := raw[8+hlen:]
			for name, e := range header {
				var entry struct {
					DType   string `json:"dtype"`
					Shape   []int  `json:"shape"`
					Offsets [2]int `json:"data_offsets"`
				}
				if err := json.Unmarshal(e, &entry); err != nil {
					t.Fatal(err)
				}
				tensor, err := c.Expect(name, entry.Shape...)
				if err != nil {
					t.Fatal(err)
				}
				if tensor.DType.String() != entry.DType || tensor.DType != fx.dtype {
					t.Errorf("%s: dtype %s, file says %s", name, tensor.DType, entry.DType)
				}
				want := data[entry.Offsets[0]:entry.Offsets[1]]
				if !bytes.Equal(tensor.Bytes(), want) {
					t.Fatalf("%s: bytes differ from the file", name)
				}
				got := tensor.Float32()
				for i, g := range got {
					var bits uint32
					if fx.dtype == BF16 {
						bits = uint32(binary.LittleEndian.Uint16(want[2*i:])) << 16
					} else {
						bits = binary.LittleEndian.Uint32(want[4*i:])
					}
					if math.Float32bits(g) != bits {
						t.Fatalf("%s[%d] = %#08x, file holds %#08x", name, i, math.Float32bits(g), bits)
					}
				}
			}
		})
	}
}

func TestCheckpointTokenizer(t *testing.T) {
	c, err := Open(fixtures.Path(t, "hf/stories260K_hf"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err := c.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := tok.BOS(); !ok || id != c.Config.BOSTokenID {
		t.Errorf("tokenizer BOS = %d, %v; config bos_token_id %d", id, ok, c.Config.BOSTokenID)
	}
	if tok.VocabSize() != c.Config.VocabSize {
		t.Errorf("tokenizer vocab %d, config %d", tok.VocabSize(), c.Config.VocabSize)
	}

	o, err := Open(fixtures.Path(t, "hf/olmo_tiny"))
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	_, err = o.Tokenizer()
	assertErr(t, err, "olmo_tiny", "no tokenizer.json")
}

// TestOpenFS opens a checkpoint held in an fs.FS (as the embedded bbtoy
// checkpoint is) and compares it with the same files opened from disk.
func TestOpenFS(t *testing.T) {
	for _, shards := range []int{1, 2} {
		dir := t.TempDir()
		writeTiny(t, dir, shards, nil, nil)
		os.WriteFile(filepath.Join(dir, "tokenizer.json"), []byte(`{}`), 0o644)
		disk, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		mem, err := OpenFS(os.DirFS(dir), ".")
		if err != nil {
			t.Fatal(err)
		}
		if mem.TokenizerPath != "tokenizer.json" || string(mem.tokenizerData) != "{}" {
			t.Errorf("OpenFS tokenizer: %q, %q", mem.TokenizerPath, mem.tokenizerData)
		}
		if !slices.Equal(disk.Tensors.Names(), mem.Tensors.Names()) {
			t.Fatalf("names differ: %v vs %v", disk.Tensors.Names(), mem.Tensors.Names())
		}
		for _, n := range disk.Tensors.Names() {
			a, _ := disk.Tensors.Get(n)
			b, _ := mem.Tensors.Get(n)
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Errorf("%s differs between Open and OpenFS", n)
			}
		}
		disk.Close()
		mem.Close()
	}
	_, err := OpenFS(os.DirFS(t.TempDir()), ".")
	assertErr(t, err, "no config.json")
}
