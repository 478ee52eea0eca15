package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/loader"
)

// TestHeadsMemory (opt-in: SINKSCOPE_RSS=1, about three minutes) measures
// the peak RSS of `heads` over domains of 10, 100 and 1000 sequences of 64
// tokens, each run in a fresh process (this test binary re-executed).
// Domains are read one sequence at a time, the reducers keep running sums
// and the forward passes reuse their buffers, so memory must not grow with
// the number of sequences:
//
//   - on a synthetic 116M-parameter bf16 Llama (width 1024, vocabulary
//     32000), where, as in real use, the mapped weights dominate: peak RSS
//     with 1000 sequences ≤ 1.1 × with 10;
//   - on stories260K (260K parameters), where the whole process is about
//     18 MB and the Go runtime's own warm-up over the first few dozen
//     sequences (about 1.5 MB: heap and collector metadata) is already 8% of
//     it: peak RSS with 1000 sequences ≤ 1.1 × with 100, and the ratio to 10
//     is logged.
func TestHeadsMemory(t *testing.T) {
	if child := os.Getenv("SINKSCOPE_RSS_CHILD"); child != "" {
		rssChild(t, child)
		return
	}
	if os.Getenv("SINKSCOPE_RSS") == "" {
		t.Skip("set SINKSCOPE_RSS=1 to measure peak RSS with 10, 100 and 1000 sequences (about three minutes)")
	}
	tmp := t.TempDir()
	domain := map[int]string{}
	for _, n := range []int{10, 100, 1000} {
		domain[n] = writeIDsDomain(t, tmp, n)
	}
	synth := filepath.Join(tmp, "synth")
	writeSyntheticLlama(t, synth)
	for _, tc := range []struct {
		name, model string
		base        int // the run the 1000-sequence one is compared with
	}{
		{"synthetic 116M bf16", synth, 10},
		{"stories260K", fixtures.Path(t, "hf/stories260K_hf"), 100},
	} {
		peak := map[int]int{}
		for _, n := range []int{10, 100, 1000} {
			peak[n] = peakRSS(t, tc.model, domain[n], n)
		}
		t.Logf("%s: peak RSS %d kB with 10 sequences, %d kB with 100, %d kB with 1000 (1000/10 = %.3f, 1000/100 = %.3f)",
			tc.name, peak[10], peak[100], peak[1000], float64(peak[1000])/float64(peak[10]), float64(peak[1000])/float64(peak[100]))
		if r := float64(peak[1000]) / float64(peak[tc.base]); r > 1.1 {
			t.Errorf("%s: peak RSS grew %.3f× from %d to 1000 sequences, want ≤ 1.1×", tc.name, r, tc.base)
		}
	}
}

// writeIDsDomain writes n sequences of 64 token ids (BOS 1, then ids below
// 512) as a .jsonl domain.
func writeIDsDomain(t *testing.T, dir string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		ids := []int{1}
		for j := 1; j < 64; j++ {
			ids = append(ids, 3+(i*7919+j*104729)%509)
		}
		js, _ := json.Marshal(map[string][]int{"ids": ids})
		b.Write(js)
		b.WriteByte('\n')
	}
	p := filepath.Join(dir, fmt.Sprintf("d%d.jsonl", n))
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeSyntheticLlama writes a Llama checkpoint with random bf16 weights
// (N(0, 0.02); norms 1): 4 layers of width 1024, 16 heads, MLP 2816,
// vocabulary 32000.
func writeSyntheticLlama(t *testing.T, dir string) {
	const d, layers, heads, inter, vocab = 1024, 4, 16, 2816, 32000
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{
		"architectures": []string{"LlamaForCausalLM"}, "model_type": "llama",
		"hidden_size": d, "intermediate_size": inter, "num_hidden_layers": layers,
		"num_attention_heads": heads, "num_key_value_heads": heads, "vocab_size": vocab,
		"max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
		"tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "bfloat16",
	}
	js, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 7))
	tensor := func(name string, norm bool, shape ...int) loader.WriteTensor {
		n := 1
		for _, s := range shape {
			n *= s
		}
		data := make([]byte, 2*n)
		for i := 0; i < n; i++ {
			x := float32(0.02 * rng.NormFloat64())
			if norm {
				x = 1
			}
			binary.LittleEndian.PutUint16(data[2*i:], kernels.F32ToBF16(x))
		}
		return loader.WriteTensor{Name: name, DType: loader.BF16, Shape: shape, Data: data}
	}
	ws := []loader.WriteTensor{
		tensor("model.embed_tokens.weight", false, vocab, d),
		tensor("model.norm.weight", true, d),
		tensor("lm_head.weight", false, vocab, d),
	}
	for l := 0; l < layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		ws = append(ws,
			tensor(p+"input_layernorm.weight", true, d),
			tensor(p+"post_attention_layernorm.weight", true, d),
			tensor(p+"self_attn.q_proj.weight", false, d, d),
			tensor(p+"self_attn.k_proj.weight", false, d, d),
			tensor(p+"self_attn.v_proj.weight", false, d, d),
			tensor(p+"self_attn.o_proj.weight", false, d, d),
			tensor(p+"mlp.gate_proj.weight", false, inter, d),
			tensor(p+"mlp.up_proj.weight", false, inter, d),
			tensor(p+"mlp.down_proj.weight", false, d, inter),
		)
	}
	if err := loader.WriteSafetensors(filepath.Join(dir, "model.safetensors"), ws, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
}

// peakRSS runs `heads MODEL --domain d=DOMAIN` (n sequences) in a child
// process and returns its peak RSS in kB.
func peakRSS(t *testing.T, model, domain string, n int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHeadsMemory$", "-test.v")
	cmd.Env = append(os.Environ(), "SINKSCOPE_RSS_CHILD="+model+"|"+domain+"|"+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child for %d sequences on %s: %v\n%s", n, model, err, out)
	}
	i := bytes.Index(out, []byte("VmHWM_kB="))
	if i < 0 {
		t.Fatalf("child for %d sequences printed no VmHWM:\n%s", n, out)
	}
	var kb int
	fmt.Sscanf(string(out[i:]), "VmHWM_kB=%d", &kb)
	return kb
}

// rssChild runs heads over one domain and prints the process's peak RSS.
func rssChild(t *testing.T, spec string) {
	parts := strings.Split(spec, "|")
	var out, errb bytes.Buffer
	if code := run([]string{"heads", parts[0], "--domain", "d=" + parts[1], "--max-seqs", "0", "--format", "csv"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if want := "d,0,0," + parts[2] + ","; !strings.Contains(out.String(), want) {
		t.Fatalf("output lacks %q:\n%.300s", want, out.String())
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			fmt.Printf("VmHWM_kB=%s\n", f[1])
		}
	}
}
