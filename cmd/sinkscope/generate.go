package main

import (
	"fmt"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/tokenizer"
	"github.com/spf13/cobra"
)

func newGenerateCmd() *cobra.Command {
	var (
		text, bos  string
		n, threads int
	)
	c := &cobra.Command{
		Use:   "generate MODEL --text S [-n N]",
		Short: "Continue a text greedily (temperature 0)",
		Long: `generate tokenizes --text (with --bos deciding about the BOS token), appends the
most likely next token N times (ties go to the lowest id), and prints the decoded
prompt and continuation without the leading BOS, followed by a newline, as llama2.c's
run prints it. Llama, Mistral, OLMo and OLMo-2 models keep a KV cache, so each new token
costs one position. Generation stops early at the end-of-sequence token (not printed) and at
the model's max_position_embeddings. --text "" with --bos auto continues from the BOS alone.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("text") {
				return usagef("generate: --text is required (it may be empty: --text \"\")")
			}
			if n < 0 {
				return usagef("generate: -n %d: want a non-negative number of tokens", n)
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
			tok, ids, err := modelInput(ckpt, true, text, "", policy, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			prompt := len(ids)
			in := m.Info()
			eos := ckpt.Config.EOSTokenID
			// With a KV cache each step computes only the new token; otherwise
			// the whole sequence is run again.
			inc, cached := m.(model.Incremental)
			var st model.Stream
			if cached {
				st = inc.Start()
			}
			pending := ids
			for range n {
				if in.MaxSeqLen > 0 && len(ids) >= in.MaxSeqLen {
					fmt.Fprintf(cmd.ErrOrStderr(), "generate: stopped at max_position_embeddings %d\n", in.MaxSeqLen)
					break
				}
				var logits []float32
				if cached {
					logits, err = st.Extend(pending)
				} else {
					logits, err = m.Forward(ids, nil)
				}
				if err != nil {
					return err
				}
				last := logits[len(logits)-in.Vocab:]
				next := 0
				for j, v := range last {
					if v > last[next] {
						next = j
					}
				}
				if next == eos {
					break
				}
				ids = append(ids, next)
				pending = ids[len(ids)-1:]
			}
			shown := ids
			if b, ok := tok.BOS(); ok && prompt > 0 && ids[0] == b {
				shown = ids[1:]
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), tok.Decode(shown))
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&text, "text", "", "prompt text (may be empty)")
	f.IntVarP(&n, "n", "n", 32, "number of tokens to generate")
	f.StringVar(&bos, "bos", "auto", "BOS token: auto, always or never")
	f.IntVar(&threads, "threads", 0, "threads for the forward pass (0: all cores)")
	return c
}
