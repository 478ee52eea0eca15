// Command sinkscope explains extreme-token phenomena (attention sinks,
// value-state drains, residual-state peaks) in transformer language models.
//
// Run "sinkscope --help" for the subcommands.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/internal/fault"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// usageError marks errors caused by how the command was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef returns a usage error (exit code 2).
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// models accepts one MODEL argument, or none when optional, else it is a
// usage error.
func models(cmd string, optional bool) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 1 || len(args) == 0 && !optional {
			return usagef("%s: want %s MODEL argument, got %d", cmd, map[bool]string{false: "exactly one", true: "at most one"}[optional], len(args))
		}
		return nil
	}
}

// run executes the command line args and returns the process exit code:
// 0 success, 1 runtime error, 2 usage error.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	err := execute(root)
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "sinkscope:", err)
	var ue usageError
	var oe analysis.OptionError
	var ex interface{ ExitCode() int } // e.g. 130 for SIGINT
	switch {
	case errors.As(err, &ue) || errors.As(err, &oe):
		return 2
	case errors.As(err, &ex):
		return ex.ExitCode()
	}
	return 1
}

// execute runs the command with memory faults as errors: the analyses name
// the file and tensor (analysis.Run); elsewhere the fault is still an error,
// not a crash.
func execute(root *cobra.Command) (err error) {
	defer fault.Guard()()
	defer fault.Recover(&err, nil)
	return root.Execute()
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "sinkscope",
		Short: "Explain attention sinks, value-state drains and residual-state peaks in transformer LLMs",
		Long: `sinkscope reads Hugging Face checkpoints (Llama 2/3/3.1, OLMo, OLMo-2) and its own
Bigram-Backcopy toy models, runs them with TransformerLens-named hooks, and reports per
head whether it is an attention sink (dormant) or doing work (active) on each input domain.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newInspectCmd(),
		newTokenizeCmd(),
		newDumpCmd(),
		newGenerateCmd(),
		newHeadsCmd(),
		newTokensCmd(),
		newBBToyCmd(),
		newBenchCmd(),
		newDiffCmd(),
		newReportCmd(),
	)
	return root
}
