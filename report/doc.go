// Package report writes sinkscope's interactive report: one self-contained
// HTML file (its script, style and data inline, no network request, readable
// from file://) for exploring an analysis in a browser.
//
// The page has four views:
//
//   - a layer × head grid per domain and the difference of two domains, for
//     any metric of the analysis, with every head's numbers and class on
//     hover and the classification rule and thresholds editable;
//   - a head view: the head's attention pattern on each sample sequence,
//     drawn on a canvas with the tokens on both axes and the sink columns
//     marked, its value norm per key and its top sinks with their tokens;
//   - a token view: per layer, every position's residual norm, the attention
//     it receives, its value norm and its largest activation, extreme tokens
//     marked;
//   - a series view, for a checkpoint series: first_attn and value norms over
//     steps for chosen heads, every head's class over steps, and a step
//     slider that drives the grid.
//
// The grid comes from an analysis (analysis.Report, analysis.SeriesResult) or
// from the JSON Lines that `sinkscope heads` and `sinkscope diff` print
// (ReadRows). The head and token views come from sample sequences run
// through the model (Capture). Attention patterns are stored as 8-bit
// integers q = round(255·p), so a cell reads back within 1/510 of the
// model's value; value norms as 8 bits of their head's largest norm on the
// sequence. The page states both. The same inputs give the same bytes.
package report
