// Package lab runs experiments on the Bigram-Backcopy toy of package bbtoy:
// what the paper (Guo et al., arXiv 2410.13835) measures while the toy
// trains, and after.
//
//   - [Train] and [Run]: a training run with its dynamics log (one [Record]
//     on a fixed evaluation batch every few steps, written as JSON Lines) and
//     checkpoints; [TrainOptions] are its settings, flat, as the command line
//     gives them; [RunConfig.Until] ends a run a fixed number of steps after
//     a threshold is met (the sgd experiment's matched learning);
//   - [Evaluator]: the dynamics record of a model. Its sinkscope statistics
//     (first_attn, value_norm_first, ...) come from package metrics'
//     reducers, the same as `sinkscope heads`; the paper's own poolings,
//     which differ (its Attn_BOS includes query 0), are kept under their own
//     names (attn_bos_paper, dlogit_paper_mean, ...);
//   - [Analyze]: the head table on the trigger and non-trigger domains and
//     the component ablations;
//   - [Evaluator.MeasureMinimal]: the minimal residual-peak structure's
//     numbers, with hooks such as [RemoveLayer0];
//   - [Reproduce] and [ReproduceSeeds]: the paper's experiments (sink, relu,
//     sgd, minimal) against its numbers, on one seed or judged over several;
//   - [PlotDynamics]: the paper's Figure 4(b).
package lab
