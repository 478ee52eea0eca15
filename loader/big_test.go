package loader

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBigShardedCheckpoint writes a sharded BF16 Llama checkpoint of about
// 2.3 GB (sparse files: the data are holes, so writing is instant) and checks
// that opening it maps rather than reads: RSS stays far below the size until
// tensors are touched, and touching one layer adds about that layer's bytes.
// Opt in with SINKSCOPE_BIG=1 (needs ~2.3 GB of disk for the sparse files'
// apparent size, Linux for /proc/self/status).
func TestBigShardedCheckpoint(t *testing.T) {
	if os.Getenv("SINKSCOPE_BIG") != "1" {
		t.Skip("set SINKSCOPE_BIG=1 to write and open a 2.3 GB sharded checkpoint")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc/self/status for RSS")
	}
	dir := t.TempDir()
	cfgMap := map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "hidden_size": 2048, "intermediate_size": 5632,
		"num_hidden_layers": 20, "num_attention_heads": 16, "vocab_size": 32000, "torch_dtype": "bfloat16",
	}
	writeJSON(t, filepath.Join(dir, ConfigFile), cfgMap)
	b, _ := json.Marshal(cfgMap)
	cfg, err := ParseConfig("big", b)
	if err != nil {
		t.Fatal(err)
	}
	const nShards = 4
	shapes := testTensors(cfg)
	wm := make(map[string]string)
	var total int64
	for s := range nShards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, nShards)
		var part []tensorShape
		for i := s; i < len(shapes); i += nShards {
			part = append(part, shapes[i])
			wm[shapes[i].name] = name
		}
		total += writeSparse(t, filepath.Join(dir, name), part)
	}
	writeIndex(t, dir, wm)
	t.Logf("checkpoint: %d tensors in %d shards, %.2f GB", len(shapes), nShards, float64(total)/1e9)
	if total < 2e9 {
		t.Fatalf("checkpoint is %d bytes, want ≥ 2 GB", total)
	}

	before := rssBytes(t)
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	afterOpen := rssBytes(t)

	var layerBytes int64
	var sum byte
	for _, n := range c.Tensors.Names() {
		if !strings.HasPrefix(n, "layers.0.") {
			continue
		}
		tensor, _ := c.Tensors.Get(n)
		data := tensor.Bytes()
		for i := 0; i < len(data); i += 4096 {
			sum += data[i]
		}
		layerBytes += int64(len(data))
	}
	afterTouch := rssBytes(t)
	t.Logf("RSS: before open %.1f MB, after open %.1f MB, after touching layer 0 (%.1f MB of tensors) %.1f MB (checksum %d)",
		mb(before), mb(afterOpen), mb(layerBytes), mb(afterTouch), sum)
	if afterOpen-before > 64<<20 {
		t.Errorf("opening grew RSS by %.1f MB, want < 64 MB for a %.1f GB checkpoint", mb(afterOpen-before), float64(total)/1e9)
	}
	if grow := afterTouch - afterOpen; grow < layerBytes*9/10 || grow > layerBytes*2 {
		t.Errorf("touching %.1f MB grew RSS by %.1f MB, want about the layer's size", mb(layerBytes), mb(grow))
	}
}

// writeSparse writes a BF16 safetensors file with the given tensors whose
// data section is a hole (all zeros), and returns its size.
func writeSparse(t *testing.T, path string, tensors []tensorShape) int64 {
	t.Helper()
	wts := make([]WriteTensor, len(tensors))
	for i, ts := range tensors {
		wts[i] = WriteTensor{Name: ts.name, DType: BF16, Shape: ts.shape}
	}
	head, size := sparseHeader(t, wts)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(head)))
	w.Write(n[:])
	w.Write(head)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	total := int64(8+len(head)) + size
	if err := f.Truncate(total); err != nil {
		t.Fatal(err)
	}
	return total
}

// sparseHeader encodes a BF16 header for tensors whose data is not in
// memory, laid out contiguously in order; it returns the data section size.
func sparseHeader(t *testing.T, wts []WriteTensor) ([]byte, int64) {
	var size int64
	var b strings.Builder
	b.WriteByte('{')
	for i, w := range wts {
		n := int64(2)
		for _, d := range w.Shape {
			n *= int64(d)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		shape, _ := json.Marshal(w.Shape)
		fmt.Fprintf(&b, `%q:{"dtype":"BF16","shape":%s,"data_offsets":[%d,%d]}`, w.Name, shape, size, size+n)
		size += n
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return []byte(b.String()), size
}

func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
