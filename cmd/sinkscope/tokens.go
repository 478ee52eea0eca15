package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/internal/stats"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/tidy"
	"github.com/sinkscope/sinkscope/tokenizer"
)

func newTokensCmd() *cobra.Command {
	var (
		text, ids, bos, output string
		threads                int
	)
	c := &cobra.Command{
		Use:   "tokens MODEL (--text S | --ids 1,2,3)",
		Short: "Per-token extreme-token statistics (residual peak, sink, value drain, massive activations) per layer",
		Long: `tokens runs MODEL once over one sequence and prints one row per (layer, position):

  layer, position   where
  token_id, token   the input token and its text
  resid_norm        ‖hook_resid_post‖ of the token: the residual stream leaving the layer
  attn_received     the attention mass the token receives, Σ_{i≥k} A[i,k] / (T−k), averaged over the layer's heads
  value_norm        ‖W_O^(h) v_k‖ averaged over the layer's heads (small for a value-state drain)
  massive_max       the largest |x_j| of the token's residual state
  extreme           true when the token is a sink (attn_received > 0.3, for the first half
                    of the positions, whose mass averages over many queries), carries a massive
                    activation (|x_j| > 100 and > 1000 × the median |x| of its state), or is a
                    residual peak (resid_norm ≥ 5 × the layer's median resid_norm)

MODEL is a checkpoint directory, org/name[@revision] in the Hugging Face cache, or
builtin:bbtoy. --ids are used exactly as given; --text is encoded under --bos. In table
format a per-layer summary (the first token's residual norm over the median of the others)
follows the table; with json or csv it goes to stderr.`,
		Example: `  sinkscope tokens ./stories260K_hf --text "Once upon a time"
  sinkscope tokens ./olmo --ids 1,17,254,3 --format csv -o tokens.csv`,
		Args: models("tokens", false),
	}
	format := formatFlag(c, "table")
	fl := c.Flags()
	fl.StringVar(&text, "text", "", "the input text (encoded under --bos)")
	fl.StringVar(&ids, "ids", "", "the input token ids, comma-separated (@FILE: read from FILE), used exactly as given")
	fl.StringVar(&bos, "bos", "auto", "BOS policy for --text: auto, always or never")
	fl.StringVarP(&output, "output", "o", "", "write the rows to this file, atomically, instead of stdout")
	fl.IntVar(&threads, "threads", 0, "threads per forward pass (0: all cores)")
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		policy, err := tokenizer.ParseBOSPolicy(bos)
		if err != nil {
			return usagef("--bos %q: want auto, always or never", bos)
		}
		if (text == "") == (ids == "") {
			return usagef("tokens: give exactly one of --text and --ids")
		}
		if threads < 0 {
			return usagef("--threads %d: want 0 (all cores) or more", threads)
		}
		var input []int
		if ids != "" {
			if input, err = parseSequenceIDs(ids); err != nil {
				return err
			}
		}
		m, err := analysis.Open(args[0], threads)
		if err != nil {
			return err
		}
		defer m.Close()
		if text != "" {
			if m.Tokenizer == nil {
				return fmt.Errorf("%s has no tokenizer: use --ids", args[0])
			}
			if input, err = m.Tokenizer.EncodeBOS(text, policy); err != nil {
				return fmt.Errorf("--text: %w", err)
			}
			if len(input) < 2 {
				return fmt.Errorf("--text %q encodes to %d token(s); need at least 2", text, len(input))
			}
		}
		if info := m.Info(); info.MaxSeqLen > 0 && len(input) > info.MaxSeqLen {
			return usagef("the input has %d tokens, more than the context of %s (%d)", len(input), args[0], info.MaxSeqLen)
		}
		r, err := metrics.Inspect(m.Model, input)
		if err != nil {
			return fmt.Errorf("%s: %w", args[0], err)
		}
		summary := func(w io.Writer) { writeTokenSummary(w, args[0], r) }
		return emit(cmd, tokenRecords(r, m.TokenName), *format, summary, output)
	}
	return c
}

func tokenRecords(r *metrics.TokenReport, name func(int) string) *tidy.Table {
	rec := &tidy.Table{Fields: []string{"layer", "position", "token_id", "token", "resid_norm", "attn_received", "value_norm", "massive_max", "extreme"}}
	for l := 0; l < r.Layers; l++ {
		for k := 0; k < r.T; k++ {
			rec.Add(l, k, r.IDs[k], name(r.IDs[k]), r.ResidNorm[l*r.T+k], r.AttnReceived(l, k), r.MeanValueNorm(l, k), r.MaxAbs[l*r.T+k], r.Extreme(l, k))
		}
	}
	return rec
}

// writeTokenSummary prints per layer the first token's residual peak ratio
// and the extreme positions.
func writeTokenSummary(w io.Writer, label string, r *metrics.TokenReport) {
	fmt.Fprintf(w, "%s: %d tokens; per layer: ‖resid₀‖ / median ‖resid_k≥1‖ and extreme positions\n", label, r.T)
	for l := 0; l < r.Layers; l++ {
		med := stats.Median(r.ResidNorm[l*r.T+1 : (l+1)*r.T])
		var ext []string
		for k := 0; k < r.T; k++ {
			if r.Extreme(l, k) {
				ext = append(ext, fmt.Sprint(k))
			}
		}
		if len(ext) == 0 {
			ext = []string{"none"}
		}
		fmt.Fprintf(w, "  layer %d: peak ratio %.2f; extreme: %s\n", l, r.ResidNorm[l*r.T]/med, strings.Join(ext, ", "))
	}
}
