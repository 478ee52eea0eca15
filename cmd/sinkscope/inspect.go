package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/tidy"
)

func newInspectCmd() *cobra.Command {
	var seqLen int
	c := &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Show a checkpoint's architecture, sizes, tokenizer, BOS policy and memory estimate",
		Long: `inspect opens MODEL (a checkpoint directory, or org/name[@revision] in the Hugging Face
cache), validates config.json and every safetensors header, and reports the architecture,
sizes, stored dtypes, parameter count, tokenizer and what --bos auto does, RoPE settings,
and an estimate of the peak memory of one forward pass of heads over --seq-len tokens: the
mapped weights, one layer's float32 activations (attention a block of 96 queries per head at
a time, the MLP 512 positions at a time) and 256 positions' logits.`,
		Example: `  sinkscope inspect ./stories260K_hf
  sinkscope inspect allenai/OLMo-1B-0724-hf@step1000-tokens4B --seq-len 2048 --format json`,
		Args: models("inspect", false),
	}
	format := formatFlag(c, "table")
	c.Flags().IntVar(&seqLen, "seq-len", 256, "sequence length for the peak-memory estimate")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		if seqLen <= 0 {
			return usagef("--seq-len %d: want a positive number of tokens", seqLen)
		}
		m, ck, err := sinkscope.Open(args[0], 1) // the tokenizer is optional here: a broken one is a warning
		if err != nil {
			return err
		}
		defer ck.Close()
		rep := analysis.Inspect(&analysis.Model{Model: m, Label: args[0], Checkpoint: ck}, seqLen, cmd.ErrOrStderr())
		return writeInspection(rep, cmd.OutOrStdout(), *format)
	}
	return c
}

// writeInspection writes what inspect reports, in format.
func writeInspection(r analysis.Inspection, w io.Writer, format string) error {
	type field struct {
		name  string
		value any    // machine formats
		text  string // table
	}
	null := func(ok bool, v any) any {
		if ok {
			return v
		}
		return nil
	}
	tokText := r.Tokenizer
	if tokText == "" {
		tokText = "none"
	}
	bosText := map[string]string{
		"prepend": fmt.Sprintf("auto prepends %q (id %d)", r.BOSToken, r.BOSID),
		"none":    "auto adds none: position 0 is the first content token",
		"unknown": "unknown (no tokenizer)",
	}[r.BOSPolicy]
	scaling := "none"
	if r.RopeScaling != nil {
		keys := make([]string, 0, len(r.RopeScaling))
		for k := range r.RopeScaling {
			if k != "rope_type" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%v", k, r.RopeScaling[k])
		}
		scaling = fmt.Sprintf("%s (%s)", r.RopeScaling["rope_type"], strings.Join(parts, ", "))
	}
	clip := "none"
	if r.ClipQKV > 0 {
		clip = strconv.FormatFloat(r.ClipQKV, 'g', -1, 64)
	}
	ropeText := "none"
	if r.RopeTheta > 0 {
		ropeText = strconv.FormatFloat(r.RopeTheta, 'g', -1, 64)
	}
	maxPos := "unknown"
	if r.MaxPositions > 0 {
		maxPos = strconv.Itoa(r.MaxPositions)
	}
	fields := []field{
		{"model", r.Model, r.Model},
		{"dir", r.Dir, r.Dir},
		{"architecture", r.Arch, r.Arch},
		{"model_type", r.ModelType, r.ModelType},
		{"layers", r.Layers, strconv.Itoa(r.Layers)},
		{"heads", r.Heads, strconv.Itoa(r.Heads)},
		{"kv_heads", r.KVHeads, strconv.Itoa(r.KVHeads)},
		{"head_dim", r.HeadDim, strconv.Itoa(r.HeadDim)},
		{"d_model", r.DModel, strconv.Itoa(r.DModel)},
		{"intermediate", r.Intermediate, strconv.Itoa(r.Intermediate)},
		{"vocab", r.Vocab, strconv.Itoa(r.Vocab)},
		{"max_positions", null(r.MaxPositions > 0, r.MaxPositions), maxPos},
		{"dtype", strings.Join(r.DTypes, ","), strings.Join(r.DTypes, ", ")},
		{"parameters", r.Params, groupDigits(r.Params)},
		{"bytes", r.Bytes, humanBytes(r.Bytes)},
		{"files", r.Files, strconv.Itoa(r.Files)},
		{"tokenizer", null(r.Tokenizer != "", r.Tokenizer), tokText},
		{"bos_policy", r.BOSPolicy, bosText},
		{"bos_token_id", null(r.BOSID >= 0, r.BOSID), idText(r.BOSID)},
		{"rope_theta", null(r.RopeTheta > 0, r.RopeTheta), ropeText},
		{"rope_scaling", r.RopeScaling, scaling},
		{"clip_qkv", null(r.ClipQKV > 0, r.ClipQKV), clip},
		{"tied_embeddings", r.Tied, strconv.FormatBool(r.Tied)},
		{"norm_eps", r.NormEps, strconv.FormatFloat(r.NormEps, 'g', -1, 64)},
		{"seq_len", r.SeqLen, strconv.Itoa(r.SeqLen)},
		{"weights_bytes", r.WeightsBytes, humanBytes(r.WeightsBytes) + " (mapped)"},
		{"activation_bytes", r.ActivationBytes, humanBytes(r.ActivationBytes) + " (one layer, float32)"},
		{"logits_bytes", r.LogitsBytes, humanBytes(r.LogitsBytes)},
		{"peak_memory_bytes", r.PeakBytes, humanBytes(r.PeakBytes)},
	}
	quirks := map[string]string{}
	for _, q := range r.Quirks {
		quirks[q.Name] = q.Value
	}
	fields = append(fields, field{"quirks", quirks, ""})
	var rec tidy.Table
	if format == "table" {
		rec.Fields = []string{"field", "value"}
		for _, f := range fields[:len(fields)-1] {
			rec.Add(f.name, f.text)
		}
		for _, q := range r.Quirks {
			rec.Add("quirks."+q.Name, q.Value)
		}
	} else {
		row := make([]any, len(fields))
		for i, f := range fields {
			rec.Fields = append(rec.Fields, f.name)
			row[i] = f.value
		}
		rec.Add(row...)
	}
	return rec.Write(w, format)
}

func idText(id int) string {
	if id < 0 {
		return "none"
	}
	return strconv.Itoa(id)
}

// groupDigits writes n with thousands separators: 260,032.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// humanBytes writes a byte count in binary units with the exact count.
func humanBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s (%s B)", v, units[u], groupDigits(n))
}
