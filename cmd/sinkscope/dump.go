package main

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
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
			d := hooks.Dump{Model: args[0], IDs: input, Tensors: cache}
			if tok != nil {
				for _, id := range input {
					d.Tokens = append(d.Tokens, tok.Token(id))
				}
			}
			var write func(io.Writer) error
			switch ext {
			case ".npy":
				t := cache[points[0]]
				write = func(w io.Writer) error { return hooks.WriteNPY(w, t) }
			case ".npz":
				write = cache.WriteNPZ
			default:
				write = d.WriteJSON
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
	f.StringVar(&ids, "ids", "", "input token ids, comma-separated (@FILE: read from FILE), used exactly as given")
	f.StringVar(&patterns, "hooks", "", "hook points: comma-separated TransformerLens names, * for any layer")
	f.StringVarP(&out, "output", "o", "", "output file: .npy, .npz or JSON (default: JSON on stdout)")
	f.StringVar(&bos, "bos", "auto", "BOS token for --text: auto, always or never")
	f.IntVar(&threads, "threads", 0, "threads for the forward pass (0: all cores)")
	return c
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
