// Package metrics turns hooked forward passes into the per-head, per-layer and
// per-token statistics of extreme-token phenomena: attention sinks
// (first_attn, attn_mass, dlogit), value-state drains (‖W_O^(h) v_k‖), head
// output norms, residual-state peaks and massive activations, the entropy rule
// and ablation costs, and the active/dormant classification built on them.
//
// Everything streams: an Accumulator registers hooks for one forward pass at a
// time, reduces each layer's tensors to a few numbers per head as the pass
// reaches them, and folds those into running sums. The attention arrives as
// blocks of queries against the keys they see (hooks.Block), so no [H, T, T]
// pattern is built: memory per layer is O(H·T) plus a block, and the loss is
// reduced a chunk of positions' logits at a time (model.Batcher), so no
// [T, vocab] tensor is built either. Memory depends on the model and the
// sequence length, never on the number of sequences (the sink-token counts
// are bounded by the vocabulary). Sequences of one length may go through one
// batched pass (Accumulator.AddBatch) with results identical to one pass each.
//
// The package sees a model only through model.Model and the hook tensors it
// emits; a head's output projection W_O^(h) is reached through
// model.Model.HeadOutput (or, whole, model.HeadWeighter), never by reading
// weights.
//
// # Notation
//
// For one sequence of T tokens and one head h: A is its attention pattern
// [T, T] (hook_pattern, query first), S its scores (hook_attn_scores), v_k the
// value at key k of the KV head it reads (hook_v), z_i its output at query i
// before the output projection (hook_z, (A·V)_i) and W_O^(h) its column slice
// of the output projection. Q is the set of counted queries: the positions
// i ≥ 1 that Sequence.Queries selects (query 0 sees only key 0). H(p) is the
// Shannon entropy of p normalised to sum to 1.
//
// # Per-head scores
//
// Each score is computed on every sequence; a HeadResult field holds its mean
// over the domain's sequences, and Options.OnSequence receives the
// per-sequence values of the scores a Rule names. A rule is dormant when its
// score is high (↑) or low (↓); the thresholds given are its default
// τ_dormant and τ_active (Rule.DefaultThresholds); the raw norms have none,
// their scale depending on the model.
//
//   - first_attn: mean over i ∈ Q of A[i,0]; on a sliding-window layer only
//     the i that can see key 0 count. Rule first_attn ↑, 0.8 and 0.5. Guo et
//     al., "Active-Dormant Attention Heads" (arXiv 2410.13835).
//   - prev_attn: mean over i ∈ Q of A[i,i−1], the attention on the previous
//     token.
//   - dlogit_first: mean over i ∈ Q of S[i,0] − mean_{j≤i} S[i,j].
//   - attn_mass[k]: mean of A[i,k] over the counted queries i ≥ k that see
//     key k (query 0 included for k = 0); NaN when none does.
//   - row_entropy: mean over i ∈ Q of H(A[i,0..i]) / log(i+1).
//   - col_entropy: the largest over keys k of H(A[i,k] over the counted
//     i ≥ k, query 0 included) divided by the log of the number of counted
//     queries (query 0 included).
//   - entropy: col_entropy × (1 − row_entropy) of the sequence. Rule entropy
//     ↑, 0.8 and 0.5.
//   - value_norm_first: ‖W_O^(h) v_0‖. Rule value_norm_first ↓. Guo et al.
//   - value_norm_rest: the median over keys k ≥ 1 of ‖W_O^(h) v_k‖.
//   - value_norm_mean: the mean over all keys 0 ≤ k < T of ‖W_O^(h) v_k‖.
//     Rule value_norm_mean ↓.
//   - z_norm: mean over i ∈ Q of ‖z_i‖, before W_O. Rule z_norm ↓.
//   - ahon_ln: z_norm divided by the mean z_norm of all heads of the layer
//     on the same sequence. Rule ahon_ln ↓, 0.2 and 0.5. The AHON-LN of
//     Sandoval-Segura et al. (ICLR 2026).
//   - head_out_norm: mean over i ∈ Q of ‖W_O^(h) z_i‖, what the head writes.
//     Rule head_out_norm ↓.
//   - head_out_norm_ln: head_out_norm divided by the mean head_out_norm of
//     all heads of the layer on the same sequence. Rule head_out_norm_ln ↓,
//     0.2 and 0.5.
//   - last_out_norm: ‖W_O^(h) z_i‖ at the last i ∈ Q. Rule last_out_norm ↓.
//   - out_norm: 1 − head_out_norm_ln, clipped to [0, 1]. Rule out_norm ↑, 0.8
//     and 0.5 (the complement of head_out_norm_ln's). Its domain score is
//     1 − HeadOutNorm / (mean HeadOutNorm of the layer's heads) from the
//     domain means, clipped; per sequence it is computed from that
//     sequence's head_out_norm_ln.
//
// # Sinks
//
// A key that many queries attend to is a sink. The candidate sinks of a
// sequence of T tokens are its first half, the keys k < ⌈T/2⌉ (for domain
// means: of the longest sequence): attn_mass of a late key averages over few
// queries (attn_mass[T−1] is one query's attention on itself) and would win
// by chance. HeadResult.Sinks are the two candidates with the largest domain
// attn_mass. DomainResult.SinkRate(ε) is the fraction of heads whose
// attn_mass[0] exceeds ε (Gu et al., ICLR 2025, use ε = 0.3; Barbero et al.,
// COLM 2025, ε = 0.8); SinkRateTop(ε) the fraction whose largest candidate
// attn_mass does; TopNotFirst the fraction whose top sink is not key 0.
// DomainResult.SinkTokens counts, for ranks 1 and 2, the tokens at the
// sequence's top candidates of attn_mass averaged over every head of every
// layer.
package metrics
