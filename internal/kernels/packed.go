package kernels

import "fmt"

// PackedB is the right-hand operand of products that share it, packed once:
// alpha·op(B) (op(B) is [k][n]) as ⌈n/32⌉ blocks of 32 columns, each [k][32],
// zero-padded. Attention packs a head's keys and values once and multiplies
// every query block by a prefix of them (GemmPacked), instead of packing
// them again for each block as Gemm would.
type PackedB struct {
	data []float32 // [⌈n/32⌉][k][32]
	n, k int       // op(B) is [k][n]
}

// PackedBLen is the length of the buffer a PackedB of a [k][n] op(B) needs.
func PackedBLen(n, k int) int { return roundUp(n, tileC) * k }

// PackB packs alpha·op(B) into dst, which must hold PackedBLen(n, k)
// values, and returns it as a PackedB that uses dst. B is [k][ldb≥n], or
// [n][ldb≥k] when transB.
func PackB(dst []float32, transB bool, alpha float32, b []float32, ldb, n, k int) PackedB {
	if need := PackedBLen(n, k); len(dst) < need {
		panic(fmt.Sprintf("kernels: PackB of [%d][%d] into %d values, want %d", k, n, len(dst), need))
	}
	if transB {
		b = b[:(n-1)*ldb+k]
	} else {
		b = b[:(k-1)*ldb+n]
	}
	for jb := 0; jb < n; jb += tileC {
		packB(dst[jb*k:(jb+tileC)*k], transB, alpha, b, ldb, jb, min(tileC, n-jb), k)
	}
	return PackedB{data: dst[:PackedBLen(n, k)], n: n, k: k}
}

// GemmPacked computes the row-major C[m][n] = op(A)·B[:k][:n] + beta·C for
// B packed by PackB: the first n ≤ B's columns and k ≤ B's rows of it. op(A)
// and beta are as in Gemm. Every element of C is the one Gemm computes from
// the same alpha·op(B), bit for bit. Rows of op(A) are copied a panel at a
// time, so that A's stride (a head's queries among all heads', attention
// rows a power of two apart) cannot make its rows collide in the cache.
func GemmPacked(transA bool, m, n, k int, a []float32, lda int, pb PackedB, beta float32, c []float32, ldc int, threads int) {
	if n > pb.n || k > pb.k {
		panic(fmt.Sprintf("kernels: GemmPacked of [%d][%d] from a packed [%d][%d]", k, n, pb.k, pb.n))
	}
	a, c, ok := gemmOperands(transA, m, n, k, true, a, lda, beta, c, ldc)
	if !ok {
		return
	}
	threads = numThreads(threads)
	if 2*m*n*k < serialFlops {
		threads = 1
	}
	mc, nc, mt, nt, workers := gemmBlocking(m, n, threads)
	arena := getArena(workers * gemmScratch)
	defer putArena(arena)
	g := gemmCall{ks: bestKernels(), transA: transA, m: m, n: n, k: k, a: a, lda: lda, beta: beta, c: c, ldc: ldc,
		mc: mc, nc: nc, nt: nt, packA: true, bp: pb.data, bk: pb.k, scratch: *arena}
	g.run(mt, workers)
}
