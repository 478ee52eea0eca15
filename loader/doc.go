// Package loader reads Hugging Face checkpoints exactly: safetensors files
// (single or sharded, memory-mapped, validated before any data is touched),
// config.json (Llama, Mistral, OLMo, OLMo-2 and sinkscope's own
// BigramBackcopyTransformer) and the Hugging Face hub cache layout.
//
// A model argument is a local directory or "org/name[@revision]" found in the
// Hugging Face cache; sinkscope never downloads anything. Tensor data stays in
// its stored dtype (F32, F16 or BF16) as a view into the mapped file, so a
// checkpoint larger than memory can be opened: only the pages actually read
// become resident.
//
// Every malformed input (truncated file, bad header, overlapping tensors or
// a data section they do not tile exactly, unknown dtype, missing shard,
// config/tensor mismatch, ...) is an error that names the file and the
// tensor or field at fault, and what was expected.
//
// The loader knows no forward pass: model packages bind the tensors they need
// by their Hugging Face names with [Checkpoint.Expect].
package loader
