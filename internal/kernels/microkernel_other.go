//go:build !amd64 || purego

package kernels

func bestKernels() *kernelSet { return &goKernels }

func allKernels() []*kernelSet { return []*kernelSet{&goKernels} }

func convertBF16(dst []float32, src []byte) { convertBF16Generic(dst, src) }
func convertF16(dst []float32, src []byte)  { convertF16Generic(dst, src) }
