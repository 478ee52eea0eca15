package kernels

func convertBF16(dst []float32, src []byte) { convertBF16Generic(dst, src) }
func convertF16(dst []float32, src []byte)  { convertF16Generic(dst, src) }
