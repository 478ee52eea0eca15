package main

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/tokenizer"
	"github.com/spf13/cobra"
)

func newDumpCmd() *cobra.Command {
	var (
		text, ids, patterns, out, bos string
		threads                       int
	)
	c := &cobra.Command{
		Use:   "dump MODEL (--text S | --ids 1,2,3) --hooks PATTERNS [-o FILE]",
		Short: "Write the raw tensors at named hook points (JSON, .npy or .npz)",
		Long: `dump runs MODEL on one sequence and writes the tensors at the hook points named by
--hooks: comma-separated TransformerLens names, with * for any layer index, e.g.
"blocks.*.attn.hook_pattern,hook_logits".

Without -o, or when -o does not end in .npy or .npz, the output is JSON:
  {"input_ids": [int], "model": str, "tensors": {NAME: {"data": [float], "shape": [int]}}, "tokens": [str]}
with data flattened row-major (NaN and ±Inf as null) and "tokens" null when the checkpoint has
no tokenizer. -o FILE.npy writes one tensor (it is an error if the patterns match more than one);
-o FILE.npz writes a zip of NAME.npy (little-endian float32, C order), readable by numpy.load.
Shapes: hook_pattern/hook_attn_scores [H, T, T]; hook_q, hook_z [T, H, d_head]; hook_k, hook_v
[T, KV, d_head]; hook_logits [T, vocab]; the residual-stream points [T, d_model].

--ids are used exactly as given; --text is tokenized with --bos deciding about the BOS token.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("text") == (ids != "") {
				return usagef("dump: give exactly one of --text and --ids")
			}
			if patterns == "" {
				return usagef("dump: --hooks is required (e.g. --hooks 'blocks.*.attn.hook_pattern')")
			}
			policy, err := tokenizer.ParseBOSPolicy(bos)
			if err != nil {
				return usageError{err}
			}
			m, ckpt, err := sinkscope.Open(args[0], threads)
			if err != nil {
				return err
			}
			defer ckpt.Close()
			tok, input, err := modelInput(ckpt, cmd.Flags().Changed("text"), text, ids, policy, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			points, err := hooks.Match(patterns, m.Info().Layers)
			if err != nil {
				return usageError{err}
			}
			ext := strings.ToLower(filepath.Ext(out))
			if ext == ".npy" && len(points) != 1 {
				return usagef("dump: -o %s holds one tensor, but --hooks %q matches %d hook points; use .npz or JSON", out, patterns, len(points))
			}
			var hs hooks.Set
			cache := hooks.Cache{}
			cache.Capture(&hs, points...)
			if _, err := m.Forward(input, &hs); err != nil {
				return err
			}
			d := &dumpResult{model: args[0], ids: input, points: points, cache: cache}
			if tok != nil {
				for _, id := range input {
					d.tokens = append(d.tokens, tok.Token(id))
				}
			}
			var write func(io.Writer) error
			switch ext {
			case ".npy":
				t := cache[points[0]]
				write = func(w io.Writer) error { return writeNPY(w, t.Shape, t.Data) }
			case ".npz":
				write = d.writeNPZ
			default:
				write = d.writeJSON
			}
			if out == "" {
				bw := bufio.NewWriter(cmd.OutOrStdout())
				if err := write(bw); err != nil {
					return err
				}
				return bw.Flush()
			}
			return atomicfile.Write(out, write)
		},
	}
	f := c.Flags()
	f.StringVar(&text, "text", "", "input text (tokenized with the checkpoint's tokenizer)")
	f.StringVar(&ids, "ids", "", "input token ids, comma-separated, used exactly as given")
	f.StringVar(&patterns, "hooks", "", "hook points: comma-separated TransformerLens names, * for any layer")
	f.StringVarP(&out, "output", "o", "", "output file: .npy, .npz or JSON (default: JSON on stdout)")
	f.StringVar(&bos, "bos", "auto", "BOS token for --text: auto, always or never")
	f.IntVar(&threads, "threads", 0, "threads for the forward pass (0: all cores)")
	return c
}

// dumpResult is what dump writes.
type dumpResult struct {
	model  string
	ids    []int
	tokens []string // nil without a tokenizer
	points []hooks.Point
	cache  hooks.Cache
}

// sortedNames returns the tensor names in sorted order, as the JSON keys are.
func (d *dumpResult) sortedNames() []string {
	names := make([]string, len(d.points))
	for i, p := range d.points {
		names[i] = p.String()
	}
	sort.Strings(names)
	return names
}

func (d *dumpResult) byName(name string) hooks.Tensor {
	p, _ := hooks.Parse(name)
	return d.cache[p]
}

// writeJSON writes the result with sorted keys, streaming the float data.
func (d *dumpResult) writeJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	b := make([]byte, 0, 64)
	bw.WriteString(`{"input_ids":[`)
	for i, id := range d.ids {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(strconv.Itoa(id))
	}
	bw.WriteString(`],"model":`)
	bw.WriteString(jsonText(d.model))
	bw.WriteString(`,"tensors":{`)
	for i, name := range d.sortedNames() {
		t := d.byName(name)
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(jsonText(name))
		bw.WriteString(`:{"data":[`)
		for j, v := range t.Data {
			if j > 0 {
				bw.WriteByte(',')
			}
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				bw.WriteString("null")
				continue
			}
			b = strconv.AppendFloat(b[:0], float64(v), 'g', -1, 32)
			bw.Write(b)
		}
		bw.WriteString(`],"shape":[`)
		for j, s := range t.Shape {
			if j > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(strconv.Itoa(s))
		}
		bw.WriteString(`]}`)
	}
	bw.WriteString(`},"tokens":`)
	if d.tokens == nil {
		bw.WriteString("null")
	} else {
		bw.WriteByte('[')
		for i, s := range d.tokens {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(jsonText(s))
		}
		bw.WriteByte(']')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// jsonText returns s as a JSON string, with <, > and & left as they are
// (token strings such as "<s>" stay readable).
func jsonText(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// writeNPZ writes a zip (stored, not compressed) of NAME.npy files, which
// numpy.load opens as a mapping from NAME to array.
func (d *dumpResult) writeNPZ(w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, name := range d.sortedNames() {
		t := d.byName(name)
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Store})
		if err != nil {
			return err
		}
		if err := writeNPY(fw, t.Shape, t.Data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// writeNPY writes a float32 array in the .npy format version 1.0: magic,
// version, a little-endian uint16 header length, a Python-literal header dict
// padded with spaces and a newline to a multiple of 64 bytes, then the data,
// little-endian, C order.
func writeNPY(w io.Writer, shape []int, data []float32) error {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }"
	const prefix = 10 // magic (6) + version (2) + header length (2)
	pad := 64 - (prefix+len(dict)+1)%64
	if pad == 64 {
		pad = 0
	}
	header := dict + strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf("npy: shape %v: header too long", shape)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	var b [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

// modelInput returns the checkpoint's tokenizer (nil if it has none) and the
// input ids: --ids exactly as given, or --text encoded under the BOS policy.
// With --ids a tokenizer that fails to load is only a warning on stderr.
func modelInput(c *loader.Checkpoint, useText bool, text, ids string, bos tokenizer.BOSPolicy, stderr io.Writer) (*tokenizer.Tokenizer, []int, error) {
	var tok *tokenizer.Tokenizer
	if c.TokenizerPath != "" {
		var err error
		if tok, err = c.Tokenizer(); err != nil {
			if useText {
				return nil, nil, err
			}
			fmt.Fprintf(stderr, "sinkscope: warning: %v (token strings left out)\n", err)
		}
	}
	if !useText {
		input, err := parseIDs("--ids", ids)
		return tok, input, err
	}
	if tok == nil {
		return nil, nil, fmt.Errorf("%s has no %s: use --ids", c.Dir, loader.TokenizerFile)
	}
	input, err := tok.EncodeBOS(text, bos)
	if err != nil {
		return nil, nil, err
	}
	if len(input) == 0 {
		return nil, nil, usagef("--text %q gives no tokens (and --bos adds none)", text)
	}
	return tok, input, nil
}
