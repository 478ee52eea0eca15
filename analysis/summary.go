package analysis

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sinkscope/sinkscope/metrics"
)

// WriteSummary prints the report in words: per domain the sequences used and
// skipped, the loss, the class counts under cl, the tokens at position 0, the
// sink rates at eps (Gu et al. use 0.3, Barbero et al. 0.8), the most
// attended keys, the residual peaks, and then the active-dormant heads.
func (rep *Report) WriteSummary(w io.Writer, cl metrics.Classifier, eps float64) {
	info, classes := rep.Info, rep.Classes(cl)
	fmt.Fprintf(w, "%s (%s, %s × %s), rule %s (%s):\n", rep.Label, info.Arch, Plural(info.Layers, "layer"),
		Plural(info.Heads, "head"), cl.Rule, thresholds(cl))
	var doms []string
	for j, d := range rep.Domains {
		res := &d.Result
		what := Plural(res.NSeqs, "sequence")
		if d.Note != "" {
			what += " (" + d.Note + ")"
		}
		if d.Skipped > 0 {
			what += fmt.Sprintf(", %d texts shorter than --seq-len skipped", d.Skipped)
		}
		if res.Skipped > 0 {
			what += fmt.Sprintf(", %d without a counted query skipped", res.Skipped)
		}
		fmt.Fprintf(w, "  domain %s: %s; loss %.4f; %s\n", d.Name, what, res.Loss, classCounts(classes[j]))
		fmt.Fprintf(w, "    position 0: %s\n", d.First)
		fmt.Fprintf(w, "    sink rate (ε=%g): key 0 %.3f, top key %.3f; top sink is not key 0 in %.3f of heads\n",
			eps, res.SinkRate(eps), res.SinkRateTop(eps), res.TopNotFirst())
		fmt.Fprintf(w, "    most attended keys (mean over heads, per sequence): first %s; second %s\n",
			sinkShares(res.SinkTokens[0], res.NSeqs, rep.Tokens), sinkShares(res.SinkTokens[1], res.NSeqs, rep.Tokens))
		var peaks []string
		massive, massive0 := 0, 0
		for _, lr := range res.Resid {
			peaks = append(peaks, fmt.Sprintf("%.2f", lr.PeakRatio))
			massive += lr.Massive
			massive0 += lr.MassiveFirst
		}
		fmt.Fprintf(w, "    residual peak ‖x₀‖/median ‖x_k‖ by layer: %s; massive activations: %d (%d at position 0)\n",
			strings.Join(peaks, " "), massive, massive0)
		doms = append(doms, d.Name)
	}
	writeSwitches(w, doms, classes, info.Heads)
}

// thresholds reads "dormant ≥ 0.8, active < 0.5", or with ≤ and > for a
// rule whose dormant heads score low.
func thresholds(cl metrics.Classifier) string {
	if cl.Rule.DormantWhenLow() {
		return fmt.Sprintf("dormant ≤ %g, active > %g", cl.Dormant, cl.Active)
	}
	return fmt.Sprintf("dormant ≥ %g, active < %g", cl.Dormant, cl.Active)
}

// classCounts reads "dormant 3, mixed 1, active 28".
func classCounts(cs []metrics.Class) string {
	n := map[metrics.Class]int{}
	for _, c := range cs {
		n[c]++
	}
	return fmt.Sprintf("dormant %d, mixed %d, active %d", n[metrics.Dormant], n[metrics.Mixed], n[metrics.Active])
}

// sinkShares reads `"<s>" 100%, "." 40%` for the three most frequent tokens.
func sinkShares(tcs []metrics.TokenCount, n int, names map[int]string) string {
	if len(tcs) == 0 || n == 0 {
		return "none"
	}
	var parts []string
	for _, tc := range tcs[:min(3, len(tcs))] {
		name := fmt.Sprint(tc.ID)
		if names[tc.ID] != "" {
			name = strconv.Quote(names[tc.ID])
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", name, 100*float64(tc.Count)/float64(n)))
	}
	return strings.Join(parts, ", ")
}

// writeSwitches prints the active-dormant heads of one model.
func writeSwitches(w io.Writer, doms []string, classes [][]metrics.Class, heads int) {
	if len(doms) < 2 {
		fmt.Fprintf(w, "  active-dormant heads: need at least two domains\n")
		return
	}
	sw := metrics.ActiveDormant(doms, classes, heads)
	if len(sw) == 0 {
		fmt.Fprintf(w, "  active-dormant heads: none\n")
		return
	}
	fmt.Fprintf(w, "  active-dormant heads (dormant on one domain, active on another): %d\n", len(sw))
	for _, s := range sw {
		fmt.Fprintf(w, "    %-6s dormant on %s; active on %s\n", s.Head, strings.Join(s.DormantOn, ", "), strings.Join(s.ActiveOn, ", "))
	}
}

var classLetter = map[metrics.Class]string{metrics.Dormant: "D", metrics.Mixed: "M", metrics.Active: "A", metrics.Unknown: "?"}

// WriteSeriesSummary prints a series in words: per checkpoint its sink rate
// at eps and class counts under cl per domain, then per (domain, layer, head)
// the class at every checkpoint (D dormant, M mixed, A active, ? unknown) and
// the checkpoint from which the head is dormant at every later one.
func WriteSeriesSummary(w io.Writer, res []SeriesResult, cl metrics.Classifier, eps float64) {
	info := res[0].Report.Info
	fmt.Fprintf(w, "series of %s (%s, %s × %s), rule %s (%s):\n", Plural(len(res), "checkpoint"),
		info.Arch, Plural(info.Layers, "layer"), Plural(info.Heads, "head"), cl.Rule, thresholds(cl))
	classes := make([][][]metrics.Class, len(res)) // [checkpoint][domain][head]
	for i, r := range res {
		classes[i] = r.Report.Classes(cl)
		tokens := ""
		if r.Step.Tokens >= 0 {
			tokens = fmt.Sprintf(", %d tokens", r.Step.Tokens)
		}
		dup := "" // computed or cached is the run's business (its log), not the results'
		if strings.HasPrefix(r.Status, "duplicate") {
			dup = " (" + r.Status + ")"
		}
		fmt.Fprintf(w, "  %s%s: %s%s\n", r.Label(), tokens, r.Arg, dup)
		for j, d := range r.Report.Domains {
			fmt.Fprintf(w, "    domain %s: %s; loss %.4f; sink rate (ε=%g) %.3f; %s\n",
				d.Name, Plural(d.Result.NSeqs, "sequence"), d.Result.Loss, eps, d.Result.SinkRate(eps), classCounts(classes[i][j]))
		}
	}
	fmt.Fprintf(w, "\nper-head transitions (class at each checkpoint in step order: D dormant, M mixed, A active, ? unknown):\n")
	for j, d := range res[0].Report.Domains {
		byStep := make([][]metrics.Class, len(res))
		for c := range res {
			byStep[c] = classes[c][j]
		}
		ts := metrics.Transitions(byStep, info.Heads)
		fmt.Fprintf(w, "  domain %s:\n", d.Name)
		throughout, became := 0, 0
		for _, t := range ts {
			var seq strings.Builder
			for _, c := range t.Classes {
				seq.WriteString(classLetter[c])
			}
			what := "not dormant at the last checkpoint"
			switch {
			case t.DormantFrom == 0:
				what = "dormant throughout"
				throughout++
			case t.DormantFrom > 0:
				what = "dormant from " + res[t.DormantFrom].Label()
				became++
			}
			fmt.Fprintf(w, "    %-6s %s  %s\n", t.Head, seq.String(), what)
		}
		fmt.Fprintf(w, "    dormant at the last checkpoint: %d of %d heads (%d throughout, %d became dormant during the series)\n",
			throughout+became, len(ts), throughout, became)
	}
}
