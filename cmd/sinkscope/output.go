package main

import (
	"bytes"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/tidy"
)

// formatFlag registers --format on c.
func formatFlag(c *cobra.Command, def string) *string {
	return c.Flags().String("format", def, "output format: table, json (JSON Lines) or csv")
}

func checkFormat(f string, allowed ...string) error {
	if len(allowed) == 0 {
		allowed = []string{"table", "json", "csv"}
	}
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return usagef("--format %q: want one of %v", f, allowed)
}

// emit writes the rows in format, followed by the summary: in table format
// after the rows on the same output, otherwise on stderr. The output goes to
// the file output, written atomically, or to stdout. summary may be nil.
func emit(cmd *cobra.Command, rec *tidy.Table, format string, summary func(io.Writer), output string) error {
	var out bytes.Buffer
	if err := rec.Write(&out, format); err != nil {
		return err
	}
	if summary != nil {
		var s bytes.Buffer
		summary(&s)
		if format == "table" {
			out.WriteString("\n")
			out.Write(s.Bytes())
		} else {
			cmd.ErrOrStderr().Write(s.Bytes())
		}
	}
	if output != "" {
		return atomicfile.WriteFile(output, out.Bytes())
	}
	if _, err := cmd.OutOrStdout().Write(out.Bytes()); err != nil {
		return fmt.Errorf("writing the results to stdout: %w", err)
	}
	return nil
}

// writeTables writes tables one after the other to stdout, with a blank
// line between them in table format.
func writeTables(cmd *cobra.Command, format string, tables ...*tidy.Table) error {
	w := cmd.OutOrStdout()
	for i, t := range tables {
		if i > 0 && format == "table" {
			fmt.Fprintln(w)
		}
		if err := t.Write(w, format); err != nil {
			return err
		}
	}
	return nil
}
