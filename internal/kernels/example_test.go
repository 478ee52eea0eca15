package kernels_test

import (
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/internal/kernels"
)

func ExampleMatMulT() {
	// W is [2][3]: two output features of three inputs, stored as bf16.
	wv := []float32{1, 0, -1, 0.5, 0.5, 0.5}
	data := make([]byte, 2*len(wv))
	for i, v := range wv {
		h := kernels.F32ToBF16(v)
		data[2*i], data[2*i+1] = byte(h), byte(h>>8)
	}
	w := kernels.Weight{DType: kernels.BF16, Rows: 2, Cols: 3, Data: data}
	x := []float32{1, 2, 3, 4, 5, 6} // [2][3]: two tokens
	y := make([]float32, 2*2)
	kernels.MatMulT(y, x, 2, w, 0)
	fmt.Println(y)
	// Output: [-2 3 -2 7.5]
}

func ExampleRopeInvFreq() {
	s := &kernels.RopeScaling{Type: "llama3", Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}
	inv := kernels.RopeInvFreq(128, 5e5, s)
	fmt.Printf("%d frequencies, first %.4g, last %.4g\n", len(inv), inv[0], inv[63])
	// Output: 64 frequencies, first 1, last 3.069e-07
}

func ExampleF32ToBF16() {
	h := kernels.F32ToBF16(1.00390625) // 1 + 2⁻⁸: a tie, rounds to even
	fmt.Printf("%#04x %v\n", h, kernels.BF16ToF32(h))
	// Output: 0x3f80 1
}

func ExampleGemm() {
	// C = A·Bᵀ for A [2][3] and B [2][3] (B transposed), plus 10·I via beta.
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{1, 0, 0, 0, 1, 1}
	c := []float32{1, 0, 0, 1}
	kernels.Gemm(false, true, 2, 2, 3, 1, a, 3, b, 3, 10, c, 2, 1)
	fmt.Println(c)
	// Output: [11 5 4 21]
}

func ExampleSoftmax() {
	inf := float32(math.Inf(-1))
	scores := []float32{0, float32(math.Ln2), inf} // a masked key last
	kernels.Softmax(scores)
	fmt.Printf("%.4f\n", scores)
	// Output: [0.3333 0.6667 0.0000]
}
