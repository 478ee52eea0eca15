package report

import (
	"math"
	"strconv"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/metrics"
)

// Num is a number of the page: written as the shortest decimal that reads
// back as the same float32 (about 9 digits), NaN and ±Inf as null.
type Num float64

// MarshalJSON implements json.Marshaler.
func (x Num) MarshalJSON() ([]byte, error) {
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxFloat32 {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 32), nil
}

// Metric describes one number per head that the grid can show.
type Metric struct {
	Name string `json:"name"` // the column name of `heads`
	Desc string `json:"desc"`
	// Rule is set when heads can be classified by the metric (a
	// metrics.Rule); Low when a low score is dormant; Dormant and Active
	// are its default thresholds (null when it has none).
	Rule    bool `json:"rule"`
	Low     bool `json:"low"`
	Dormant Num  `json:"dormant"`
	Active  Num  `json:"active"`
}

// column is one metric and how to read it from a domain's results.
type column struct {
	name, desc string
	get        func(d *metrics.DomainResult, i int) float64
}

func field(f func(r *metrics.HeadResult) float64) func(*metrics.DomainResult, int) float64 {
	return func(d *metrics.DomainResult, i int) float64 { return f(&d.HeadRes[i]) }
}

func rule(r metrics.Rule) func(*metrics.DomainResult, int) float64 {
	return func(d *metrics.DomainResult, i int) float64 { return r.Score(d, i) }
}

// columns are the metrics of a head, in the order of `heads`' columns, then
// out_norm (a rule that is no column). ablation_dloss is added when measured.
var columns = []column{
	{"first_attn", "mean attention of queries i ≥ 1 on key 0", rule(metrics.RuleFirstAttn)},
	{"first_attn_std", "standard deviation of first_attn over sequences", field(func(r *metrics.HeadResult) float64 { return r.FirstAttnStd })},
	{"attn_mass_first", "mean attention key 0 receives from the queries that see it", field(func(r *metrics.HeadResult) float64 { return r.AttnMassFirst() })},
	{"prev_attn", "mean attention on the previous token", field(func(r *metrics.HeadResult) float64 { return r.PrevAttn })},
	{"dlogit_first", "S[i,0] − mean_j S[i,j], scaled scores", field(func(r *metrics.HeadResult) float64 { return r.DLogitFirst })},
	{"entropy", "column entropy × (1 − row entropy)", rule(metrics.RuleEntropy)},
	{"value_norm_first", "‖W_O v₀‖", rule(metrics.RuleValueNormFirst)},
	{"value_norm_rest", "median over k ≥ 1 of ‖W_O v_k‖", field(func(r *metrics.HeadResult) float64 { return r.ValueNormRest })},
	{"value_norm_mean", "mean over k of ‖W_O v_k‖", rule(metrics.RuleValueNormMean)},
	{"z_norm", "mean ‖(A·V)_i‖ before W_O", rule(metrics.RuleZNorm)},
	{"ahon_ln", "z_norm over its layer's mean (AHON-LN)", rule(metrics.RuleZNormLN)},
	{"head_out_norm", "mean ‖W_O z_i‖", rule(metrics.RuleHeadOutNorm)},
	{"head_out_norm_ln", "head_out_norm over its layer's mean", rule(metrics.RuleHeadOutNormLN)},
	{"last_out_norm", "‖W_O z_i‖ at the last query", rule(metrics.RuleLastOutNorm)},
	{"top_sink", "the key with the most attention mass (first half of the positions)", field(func(r *metrics.HeadResult) float64 { return key(r.Sinks[0]) })},
	{"second_sink", "the key with the second most attention mass", field(func(r *metrics.HeadResult) float64 { return key(r.Sinks[1]) })},
	{"n_seqs", "sequences that contributed", field(func(r *metrics.HeadResult) float64 { return float64(r.NSeqs) })},
	{"out_norm", "1 − head_out_norm over its layer's mean, clipped to [0, 1] (rule only)", rule(metrics.RuleOutNorm)},
}

const ablationColumn = "ablation_dloss"

func key(k int) float64 {
	if k < 0 {
		return math.NaN()
	}
	return float64(k)
}

// metricList describes the columns, and ablation_dloss when ablated.
func metricList(ablated bool) []Metric {
	var out []Metric
	for _, c := range columns {
		m := Metric{Name: c.name, Desc: c.desc, Dormant: Num(math.NaN()), Active: Num(math.NaN())}
		if r, err := metrics.ParseRule(c.name); err == nil {
			m.Rule, m.Low = true, r.DormantWhenLow()
			if d, a, ok := r.DefaultThresholds(); ok {
				m.Dormant, m.Active = Num(d), Num(a)
			}
		}
		out = append(out, m)
	}
	if ablated {
		out = append(out, Metric{Name: ablationColumn, Desc: "Δloss of zeroing the head (mean over sequences)", Dormant: Num(math.NaN()), Active: Num(math.NaN())})
	}
	return out
}

// Grid is one domain's metrics, each [layers × heads] layer-major.
type Grid struct {
	Name   string           `json:"name"`
	Note   string           `json:"note,omitempty"`
	NSeqs  int              `json:"n_seqs"`
	Loss   Num              `json:"loss"`
	Values map[string][]Num `json:"values"`
}

// gridOf reads a domain's results into a grid.
func gridOf(d *analysis.DomainReport) Grid {
	res := &d.Result
	g := Grid{Name: d.Name, Note: d.Note, NSeqs: res.NSeqs, Loss: Num(res.Loss), Values: map[string][]Num{}}
	n := len(res.HeadRes)
	ablated := false
	for _, c := range columns {
		v := make([]Num, n)
		for i := range v {
			v[i] = Num(c.get(res, i))
		}
		g.Values[c.name] = v
	}
	v := make([]Num, n)
	for i, r := range res.HeadRes {
		v[i] = Num(r.AblationDLoss)
		ablated = ablated || r.Ablated
	}
	if ablated {
		g.Values[ablationColumn] = v
	}
	return g
}

// Grids is the grid part of a page: one model's domains, or a series of
// checkpoints with their domains.
type Grids struct {
	Model         string
	Arch          string
	Layers, Heads int
	Domains       []Grid
	Steps         []Step // a checkpoint series, in step order; Domains is then its last step's
}

// Step is one checkpoint of a series.
type Step struct {
	Label    string `json:"label"`    // "step 500", or the revision
	Revision string `json:"revision"` // the checkpoint's name
	Step     int    `json:"step"`     // -1 when its name has none
	Tokens   int64  `json:"tokens"`   // tokens seen, -1 when unknown
	Domains  []Grid `json:"domains"`
}

// FromReport makes the grids of one model's analysis.
func FromReport(r *analysis.Report) *Grids {
	g := &Grids{Model: r.Label, Arch: r.Info.Arch, Layers: r.Info.Layers, Heads: r.Info.Heads}
	for i := range r.Domains {
		g.Domains = append(g.Domains, gridOf(&r.Domains[i]))
	}
	return g
}

// FromSeries makes the grids of a checkpoint series.
func FromSeries(res []analysis.SeriesResult) *Grids {
	if len(res) == 0 {
		return &Grids{}
	}
	g := FromReport(res[len(res)-1].Report)
	for _, r := range res {
		s := Step{Label: r.Label(), Revision: r.Revision, Step: r.Step.Step, Tokens: r.Step.Tokens}
		for i := range r.Report.Domains {
			s.Domains = append(s.Domains, gridOf(&r.Report.Domains[i]))
		}
		g.Steps = append(g.Steps, s)
	}
	return g
}

// ablated reports whether any grid has ablation Δloss.
func (g *Grids) ablated() bool {
	check := func(ds []Grid) bool {
		for _, d := range ds {
			if _, ok := d.Values[ablationColumn]; ok {
				return true
			}
		}
		return false
	}
	if check(g.Domains) {
		return true
	}
	for _, s := range g.Steps {
		if check(s.Domains) {
			return true
		}
	}
	return false
}
