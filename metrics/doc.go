// Package metrics turns hooked forward passes into the per-head, per-layer and
// per-token statistics of extreme-token phenomena: attention sinks
// (first_attn, attn_mass, dlogit), value-state drains (‖W_O^(h) v_k‖), head
// output norms, residual-state peaks and massive activations, the entropy rule
// and ablation costs, and the active/dormant classification built on them.
//
// Everything streams: an Accumulator registers hooks for one forward pass at a
// time, reduces each layer's tensors to a few numbers per head as the pass
// reaches them, and folds those into running sums. Memory depends on the model
// and the sequence length, never on the number of sequences.
//
// The package sees a model only through model.Model and the hook tensors it
// emits; a head's output projection W_O^(h) is reached through
// model.Model.HeadOutput, never by reading weights.
package metrics
