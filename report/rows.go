package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/sinkscope/sinkscope/metrics"
)

// maxHeads bounds the layers and heads a file of rows may describe, so that
// a corrupt file cannot ask for an absurd grid.
const maxHeads = 1 << 12

// ReadRows reads the JSON Lines of `sinkscope heads --format json` (one
// model's rows) or `sinkscope diff --format json` (rows with a checkpoint
// column, one group per checkpoint in series order) into grids. Every
// (domain, layer, head) of a model or checkpoint must appear exactly once
// and the heads of each domain must fill a layers × heads grid. name labels
// the input in errors.
func ReadRows(r io.Reader, name string) (*Grids, error) {
	type group struct {
		step    Step
		domains []string
		cells   map[string]map[[2]int]map[string]float64
	}
	var groups []*group
	byCkpt := map[string]*group{}
	layers, heads := 0, 0
	model, series := "", false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		where := fmt.Sprintf("%s:%d", name, line)
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(text, &raw); err != nil {
			return nil, fmt.Errorf("report: %s: not a JSON object: %v", where, err)
		}
		row, err := parseRow(raw, where)
		if err != nil {
			return nil, err
		}
		if len(groups) == 0 {
			series = row.checkpoint != ""
			model = row.model
		}
		if (row.checkpoint != "") != series {
			return nil, fmt.Errorf("report: %s: a row with no checkpoint among rows with one, or the other way round", where)
		}
		if row.model != model {
			return nil, fmt.Errorf("report: %s: rows of two models (%q and %q); give the rows of one", where, model, row.model)
		}
		g := byCkpt[row.checkpoint]
		if g == nil {
			g = &group{step: Step{Label: row.revision, Revision: row.revision, Step: row.step, Tokens: row.tokens}, cells: map[string]map[[2]int]map[string]float64{}}
			if row.step >= 0 {
				g.step.Label = fmt.Sprintf("step %d", row.step)
			}
			if g.step.Label == "" {
				g.step.Label = row.checkpoint
			}
			byCkpt[row.checkpoint] = g
			groups = append(groups, g)
		}
		cells := g.cells[row.domain]
		if cells == nil {
			cells = map[[2]int]map[string]float64{}
			g.cells[row.domain] = cells
			g.domains = append(g.domains, row.domain)
		}
		at := [2]int{row.layer, row.head}
		if _, dup := cells[at]; dup {
			return nil, fmt.Errorf("report: %s: domain %q head %d.%d appears twice", where, row.domain, row.layer, row.head)
		}
		cells[at] = row.values
		layers, heads = max(layers, row.layer+1), max(heads, row.head+1)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("report: %s: %w", name, err)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("report: %s holds no rows", name)
	}
	if layers*heads > maxHeads {
		return nil, fmt.Errorf("report: %s: %d layers × %d heads is more than %d heads", name, layers, heads, maxHeads)
	}
	out := &Grids{Model: model, Layers: layers, Heads: heads}
	for _, g := range groups {
		if len(groups) > 1 && strings.Join(g.domains, "\x00") != strings.Join(groups[0].domains, "\x00") {
			return nil, fmt.Errorf("report: %s: checkpoint %s has domains %q, but %s has %q", name, g.step.Revision, g.domains, groups[0].step.Revision, groups[0].domains)
		}
		for _, d := range g.domains {
			grid, err := gridOfRows(d, g.cells[d], layers, heads)
			if err != nil {
				return nil, fmt.Errorf("report: %s: %w", name, err)
			}
			g.step.Domains = append(g.step.Domains, grid)
		}
		if series {
			out.Steps = append(out.Steps, g.step)
		}
	}
	out.Domains = groups[len(groups)-1].step.Domains
	return out, nil
}

// row is one parsed line.
type row struct {
	model, checkpoint, revision, domain string
	step                                int
	tokens                              int64
	layer, head                         int
	values                              map[string]float64
}

func parseRow(raw map[string]json.RawMessage, where string) (row, error) {
	r := row{step: -1, tokens: -1, values: map[string]float64{}}
	str := func(k string, dst *string, need bool) error {
		v, ok := raw[k]
		if !ok {
			if need {
				return fmt.Errorf("report: %s: no field %q", where, k)
			}
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return fmt.Errorf("report: %s: field %q: want a string: %v", where, k, err)
		}
		return nil
	}
	integer := func(k string, lo, hi int64) (int64, bool, error) {
		v, ok := raw[k]
		if !ok || string(v) == "null" {
			return 0, false, nil
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
			return 0, false, fmt.Errorf("report: %s: field %q = %s: want an integer in [%d, %d]", where, k, v, lo, hi)
		}
		return int64(f), true, nil
	}
	for _, f := range []struct {
		k    string
		dst  *string
		need bool
	}{{"model", &r.model, false}, {"checkpoint", &r.checkpoint, false}, {"revision", &r.revision, false}, {"domain", &r.domain, true}} {
		if err := str(f.k, f.dst, f.need); err != nil {
			return r, err
		}
	}
	for _, f := range []struct {
		k   string
		dst *int
	}{{"layer", &r.layer}, {"head", &r.head}} {
		v, ok, err := integer(f.k, 0, maxHeads-1)
		if err != nil {
			return r, err
		}
		if !ok {
			return r, fmt.Errorf("report: %s: no field %q", where, f.k)
		}
		*f.dst = int(v)
	}
	if v, ok, err := integer("step", 0, math.MaxInt32); err != nil {
		return r, err
	} else if ok {
		r.step = int(v)
	}
	if v, ok, err := integer("tokens_seen", 0, 1<<62); err != nil {
		return r, err
	} else if ok {
		r.tokens = v
	}
	for _, c := range append(columnNames(), ablationColumn) {
		v, ok := raw[c]
		if !ok {
			continue
		}
		x := math.NaN()
		if string(v) != "null" {
			if err := json.Unmarshal(v, &x); err != nil {
				return r, fmt.Errorf("report: %s: field %q = %s: want a number or null", where, c, v)
			}
		}
		r.values[c] = x
	}
	if _, ok := r.values["first_attn"]; !ok {
		return r, fmt.Errorf("report: %s: no field \"first_attn\": not a row of sinkscope heads or diff", where)
	}
	return r, nil
}

// columnNames are the names of the columns that rows carry (out_norm is
// computed).
func columnNames() []string {
	var out []string
	for _, c := range columns {
		if c.name != "out_norm" {
			out = append(out, c.name)
		}
	}
	return out
}

// gridOfRows lays out one domain's rows.
func gridOfRows(name string, cells map[[2]int]map[string]float64, layers, heads int) (Grid, error) {
	n := layers * heads
	if len(cells) != n {
		return Grid{}, fmt.Errorf("domain %q has %d heads, want %d (%d layers × %d heads)", name, len(cells), n, layers, heads)
	}
	g := Grid{Name: name, Loss: Num(math.NaN()), Values: map[string][]Num{}}
	for _, c := range append(columnNames(), ablationColumn) {
		v := make([]Num, n)
		seen := false
		for at, vals := range cells {
			x, ok := vals[c]
			if !ok {
				x = math.NaN()
			}
			seen = seen || ok
			v[at[0]*heads+at[1]] = Num(x)
		}
		if seen {
			g.Values[c] = v
		}
	}
	if ns := g.Values["n_seqs"]; ns != nil {
		for _, x := range ns {
			g.NSeqs = max(g.NSeqs, int(x))
		}
	}
	// out_norm, as metrics.RuleOutNorm scores it, from head_out_norm.
	if hon := g.Values["head_out_norm"]; hon != nil {
		res := metrics.DomainResult{Layers: layers, Heads: heads, HeadRes: make([]metrics.HeadResult, n)}
		for i := range res.HeadRes {
			res.HeadRes[i] = metrics.HeadResult{Layer: i / heads, Head: i % heads, HeadOutNorm: float64(hon[i])}
		}
		v := make([]Num, n)
		for i := range v {
			v[i] = Num(metrics.RuleOutNorm.Score(&res, i))
		}
		g.Values["out_norm"] = v
	}
	return g, nil
}
