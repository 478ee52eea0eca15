// Package bbtoy is the Bigram-Backcopy (BB) toy of Guo et al. (arXiv
// 2410.13835): a character-level task built from a corpus' bigram statistics
// in which the k most frequent characters ("triggers") are followed by a copy
// of the character before them, and a small transformer trained on it with a
// hand-written float32 backward pass.
//
// A 1-layer model trained on the task grows the three extreme-token phenomena
// the paper explains: an attention sink on BOS, a vanishing BOS value state
// (value-state drain) and a growing BOS residual norm (residual-state peak),
// with one head active on trigger tokens and dormant elsewhere.
//
// The package offers
//   - [Task]: vocabulary, bigram counts, triggers, sequence generation and
//     the oracle risks;
//   - [Model]: a trained checkpoint behind the [model.Model] interface, with
//     TransformerLens hook points, read through the loader like any Hugging
//     Face checkpoint (config.json architectures ["BigramBackcopyTransformer"]);
//   - [Trainer]: training with AdamW or SGD, one step at a time, and
//     checkpoints;
//   - [Builtin]: a small embedded checkpoint trained by this package;
//   - [Model.Domains]: the trigger and non-trigger query domains.
//
// Experiments on the toy (training runs with a dynamics log, the head table
// and ablations, the paper's experiments) are package bbtoy/lab; the command
// line is "sinkscope bbtoy train|analyze|reproduce".
//
// # Training
//
// Float32 forward and backward passes are written by hand (checked against
// central finite differences of a float64 instantiation of the same generic
// code), every matrix product goes through kernels.Gemm, and sequences of a
// batch are processed in parallel in fixed chunks whose gradients are summed
// in order, so a run is bit-for-bit reproducible for a seed whatever the
// number of threads. Each step draws a fresh batch: sequence b of step t comes
// from PCG(seed, t·2²⁰ + b). Initialisation follows PyTorch's defaults.
//
// # Checkpoint tensors
//
// Names and shapes (d = hidden_size, F = intermediate_size = 4d, H·dh = d):
//
//	tok_embeddings.weight                    [vocab, d]
//	pos_embeddings.weight                    [max_position_embeddings, d]
//	layers.{l}.attention_norm.weight|bias    [d]
//	layers.{l}.attention.wq.weight           [H·dh, d]   (absent when layer l has no attention)
//	layers.{l}.attention.wk.weight           [H·dh, d]
//	layers.{l}.attention.wv.weight           [H·dh, d]
//	layers.{l}.attention.wo.weight           [d, H·dh]
//	layers.{l}.ffn_norm.weight|bias          [d]         (absent when layer l has no MLP)
//	layers.{l}.feed_forward.w1.weight        [F, d]
//	layers.{l}.feed_forward.w2.weight        [d, F]
//	norm.weight|bias                         [d]
//	output.weight                            [vocab, d]
//
// Linear weights are stored [out, in] as in PyTorch, so y = x·Wᵀ.
package bbtoy
