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
//
// # Performance
//
// MatMulT and Gemm share one cache-blocked design around a microkernel that
// keeps a 12×32 tile of the result in vector registers (microkernel.go).
// MatMulT converts 12-row weight panels on the fly into a small per-thread
// buffer (f32 weights are read in place), so no float32 copy of a weight
// matrix is ever made, and splits the weight rows over goroutines handed out
// dynamically. Weights stored transposed (GPT-2's Conv1D, [in, out]) are read
// in place as well, with the same results bit for bit. On amd64 the
// microkernel, the dtype widening, Dot, Axpy and Softmax (a vector expf
// within 2 ulp) are Go assembly selected at start-up
// from the CPU's features: AVX-512F (all 32 vector registers) or AVX2+FMA;
// elsewhere, or when built with the purego tag, portable Go code runs the
// same blocking. Results of the assembly and
// portable paths agree to float32 rounding (fused multiply-adds, different
// summation order), not bit for bit.
package kernels
