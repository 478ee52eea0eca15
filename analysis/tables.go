package analysis

import (
	"slices"

	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/tidy"
)

// HeadColumns returns the score columns of a HeadTable row, in order: those
// after n_seqs and before ablation_dloss and class.
func HeadColumns() []string { return slices.Clone(headColumns) }

var headColumns = []string{"first_attn", "first_attn_std", "attn_mass_first", "prev_attn", "dlogit_first", "entropy",
	"value_norm_first", "value_norm_rest", "value_norm_mean", "z_norm", "ahon_ln", "head_out_norm", "head_out_norm_ln",
	"last_out_norm", "top_sink", "second_sink"}

// HeadTable lays out the reports as `sinkscope heads` prints them: one row
// per (model, domain, layer, head), with the model column when there are
// several reports, the ablation_dloss column when withAblation, and the
// class under cl.
func HeadTable(reps []*Report, cl metrics.Classifier, withAblation bool) *tidy.Table {
	fields := append([]string{"domain", "layer", "head", "n_seqs"}, headColumns...)
	if withAblation {
		fields = append(fields, "ablation_dloss")
	}
	fields = append(fields, "class")
	multi := len(reps) > 1
	if multi {
		fields = append([]string{"model"}, fields...)
	}
	rec := &tidy.Table{Fields: fields}
	for _, rep := range reps {
		classes := rep.Classes(cl)
		for j, d := range rep.Domains {
			for i, r := range d.Result.HeadRes {
				row := []any{d.Name, r.Layer, r.Head, r.NSeqs, r.FirstAttn, r.FirstAttnStd, r.AttnMassFirst(), r.PrevAttn,
					r.DLogitFirst, r.EntropyScore, r.ValueNormFirst, r.ValueNormRest, r.ValueNormMean, r.ZNorm, r.ZNormLN,
					r.HeadOutNorm, r.HeadOutNormLN, r.LastOutNorm, position(r.Sinks[0]), position(r.Sinks[1])}
				if withAblation {
					if r.Ablated {
						row = append(row, r.AblationDLoss)
					} else {
						row = append(row, nil)
					}
				}
				row = append(row, string(classes[j][i]))
				if multi {
					row = append([]any{rep.Label}, row...)
				}
				rec.Add(row...)
			}
		}
	}
	return rec
}

// position is a key position, nil when there is none (-1).
func position(k int) any {
	if k < 0 {
		return nil
	}
	return k
}

// ZeroingTable lays out the zeroing curves: one row per (model, domain,
// rule, fraction), with the model column when there are several reports.
func ZeroingTable(reps []*Report) *tidy.Table {
	rec := &tidy.Table{Fields: []string{"domain", "rule", "frac", "tau", "zeroed_frac", "dloss"}}
	multi := len(reps) > 1
	if multi {
		rec.Fields = append([]string{"model"}, rec.Fields...)
	}
	for _, rep := range reps {
		for _, d := range rep.Domains {
			for _, c := range d.Curves {
				for _, p := range c.Points {
					row := []any{d.Name, c.Rule.String(), p.Frac, p.Tau, p.Zeroed, p.DLoss}
					if multi {
						row = append([]any{rep.Label}, row...)
					}
					rec.Add(row...)
				}
			}
		}
	}
	return rec
}

// SeriesTable lays out a series as `sinkscope diff` prints it: the HeadTable
// rows of each checkpoint in series order, each led by the checkpoint's
// argument, revision, step and tokens seen (nil when unknown).
func SeriesTable(res []SeriesResult, cl metrics.Classifier, withAblation bool) *tidy.Table {
	rec := &tidy.Table{}
	for _, r := range res {
		hr := HeadTable([]*Report{r.Report}, cl, withAblation)
		if rec.Fields == nil {
			rec.Fields = append([]string{"checkpoint", "revision", "step", "tokens_seen"}, hr.Fields...)
		}
		var step, tokens any
		if r.Step.Step >= 0 {
			step = r.Step.Step
		}
		if r.Step.Tokens >= 0 {
			tokens = r.Step.Tokens
		}
		for _, row := range hr.Rows {
			rec.Add(append([]any{r.Arg, r.Revision, step, tokens}, row...)...)
		}
	}
	return rec
}
