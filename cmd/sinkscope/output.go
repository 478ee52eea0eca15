package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/cobra"

	"github.com/sinkscope/sinkscope/internal/atomicfile"
)

// records is a tidy table: named fields and rows of values in field order.
// Values are string, int, bool, float32 or float64; a nil value is printed as
// null (JSON) or an empty cell.
type records struct {
	fields []string
	rows   [][]any
}

func (r *records) add(values ...any) {
	if len(values) != len(r.fields) {
		panic(fmt.Sprintf("records: %d values for %d fields", len(values), len(r.fields)))
	}
	r.rows = append(r.rows, values)
}

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

// write renders r in format (table, json or csv) to w. The bytes depend only
// on r: the same records give the same output.
func (r *records) write(w io.Writer, format string) error {
	var buf bytes.Buffer
	switch format {
	case "json":
		for _, row := range r.rows {
			buf.WriteByte('{')
			for i, v := range row {
				if i > 0 {
					buf.WriteByte(',')
				}
				k, _ := json.Marshal(r.fields[i])
				buf.Write(k)
				buf.WriteByte(':')
				buf.WriteString(jsonValue(v))
			}
			buf.WriteString("}\n")
		}
	case "csv":
		cw := csv.NewWriter(&buf)
		cw.Write(r.fields)
		for _, row := range r.rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = cell(v)
			}
			cw.Write(cells)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	case "table":
		t := tablewriter.NewTable(&buf, tablewriter.WithHeaderAutoFormat(tw.Off))
		t.Header(toAny(r.fields)...)
		for _, row := range r.rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = tableCell(v)
			}
			if err := t.Append(toAny(cells)...); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	default:
		return usagef("--format %q: want table, json or csv", format)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func jsonValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return "null"
		}
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "null"
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return "null"
		}
		return string(b)
	}
}

func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float32, float64:
		s := jsonValue(x)
		if s == "null" {
			return "NaN"
		}
		return s
	default:
		return fmt.Sprint(x)
	}
}

// tableCell is cell with floats shortened for reading.
func tableCell(v any) string {
	switch x := v.(type) {
	case float32:
		return strconv.FormatFloat(float64(x), 'g', 4, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', 4, 64)
	default:
		return cell(v)
	}
}

// emit writes the rows in format, followed by the summary: in table format
// after the rows on the same output, otherwise on stderr. The output goes to
// the file output, written atomically, or to stdout. summary may be nil.
func emit(cmd *cobra.Command, rec *records, format string, summary func(io.Writer), output string) error {
	var out bytes.Buffer
	if err := rec.write(&out, format); err != nil {
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
