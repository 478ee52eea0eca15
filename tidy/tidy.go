// Package tidy writes tidy tables (named columns, one row per observation)
// as aligned text, JSON Lines or CSV: the output formats of every sinkscope
// command.
package tidy

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
)

// A Table is named fields and rows of values in field order. Values are
// string, int, bool, float32 or float64; a nil value is printed as null
// (JSON) or an empty cell, and so is a NaN or infinite float in JSON.
type Table struct {
	Fields []string
	Rows   [][]any
}

// Add appends a row. It panics when the row does not have one value per
// field, which is a mistake in the calling code, not in its input.
func (t *Table) Add(values ...any) {
	if len(values) != len(t.Fields) {
		panic(fmt.Sprintf("tidy: %d values for %d fields", len(values), len(t.Fields)))
	}
	t.Rows = append(t.Rows, values)
}

// Write renders t in format to w: "table" (aligned columns, floats to 4
// significant digits), "json" (JSON Lines, one object per row, floats in
// full) or "csv" (floats in full). The bytes depend only on t.
func (t *Table) Write(w io.Writer, format string) error {
	var buf bytes.Buffer
	switch format {
	case "json":
		for _, row := range t.Rows {
			buf.WriteByte('{')
			for i, v := range row {
				if i > 0 {
					buf.WriteByte(',')
				}
				k, _ := json.Marshal(t.Fields[i])
				buf.Write(k)
				buf.WriteByte(':')
				buf.WriteString(jsonValue(v))
			}
			buf.WriteString("}\n")
		}
	case "csv":
		cw := csv.NewWriter(&buf)
		cw.Write(t.Fields)
		for _, row := range t.Rows {
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
		tab := tablewriter.NewTable(&buf, tablewriter.WithHeaderAutoFormat(tw.Off))
		tab.Header(toAny(t.Fields)...)
		for _, row := range t.Rows {
			cells := make([]string, len(row))
			for i, v := range row {
				cells[i] = tableCell(v)
			}
			if err := tab.Append(toAny(cells)...); err != nil {
				return err
			}
		}
		if err := tab.Render(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("format %q: want table, json or csv", format)
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
