// Package kernels holds the float32 numerics every forward pass is built from:
// conversions between the stored weight dtypes (f32, f16, bf16) and float32,
// a multi-threaded matrix product that reads weights in their stored dtype
// (MatMulT), a general row-major Gemm, and the small row-wise operations of a
// transformer (softmax, RMSNorm, LayerNorm, rotary embeddings, SiLU).
//
// All arithmetic is float32 with float32 accumulation, like PyTorch's CPU
// kernels in float32; where a transcendental function is needed it is
// evaluated in float64 and rounded once to float32. Functions in this package
// take their sizes from the caller and do not validate them beyond what the
// Go runtime checks: callers (the loader and the model packages) validate
// shapes against the checkpoint and report errors there.
package kernels
