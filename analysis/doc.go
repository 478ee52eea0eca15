// Package analysis runs sinkscope's analyses as functions: a model over
// named input domains to per-(domain, layer, head) statistics and classes
// (Heads), calibrated head zeroing (the Zeroing option of Heads), and a
// series of training checkpoints to results per checkpoint, with checkpoint
// identity and a result cache that lets an interrupted sweep resume
// (Series). The sinkscope command is a thin layer of flags and formatting
// over this package.
//
// A model is opened with Open (a checkpoint directory, org/name[@revision]
// in the Hugging Face cache, or the built-in toy), inputs are described by
// Inputs and read once into Sources, and Sources.For turns them into the
// Domains of one model, through its tokenizer. The statistics themselves are
// defined in package metrics.
package analysis
