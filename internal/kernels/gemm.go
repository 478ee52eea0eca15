package kernels

import "unsafe"

// Blocking of Gemm: C is cut into tasks of up to gMC rows × gNC columns;
// within a task, for each k block of gKC, every 12×32 tile of C is updated
// in place by the microkernel, which broadcasts op(A) elements straight from
// A (any transpose: only the strides differ) and streams op(B) as 32-wide
// rows, read from B directly when it is not transposed and otherwise packed
// once per call (scaled by alpha).
const (
	gKC = 256
	gMC = 96  // a multiple of tileR
	gNC = 256 // a multiple of tileC
)

// Gemm computes the row-major C[m][n] = alpha·op(A)·op(B) + beta·C, where
// op(A) is [m][k] (A is [m][lda≥k], or [k][lda≥m] when transA) and op(B) is
// [k][n] (B is [k][ldb≥n], or [n][ldb≥k] when transB). As in BLAS, beta = 0
// overwrites C without reading it. threads ≤ 0 uses GOMAXPROCS goroutines.
// C must not overlap A or B. As with MatMulT, an element of C does not depend
// on m, n or threads, only on its row of op(A) and column of op(B).
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int, threads int) {
	threads = numThreads(threads)
	if 2*m*n*k < serialFlops {
		threads = 1
	}
	gemm(bestKernels(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads)
}

func gemm(ks *kernelSet, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int, threads int) {
	a, c, ok := gemmOperands(transA, m, n, k, alpha != 0, a, lda, beta, c, ldc)
	if !ok {
		return
	}
	if transB {
		b = b[:(n-1)*ldb+k]
	} else {
		b = b[:(k-1)*ldb+n]
	}
	threads = numThreads(threads)
	direct := !transB && alpha == 1
	mc, nc, mt, nt, workers := gemmBlocking(m, n, threads)
	nbp := 0
	if !direct || n%tileC != 0 {
		nbp = PackedBLen(n, k)
	}
	// One pooled arena: packed op(B), then each worker's scratch.
	arena := getArena(nbp + workers*gemmScratch)
	defer putArena(arena)
	buf := *arena
	bp := buf[:nbp]
	buf = buf[nbp:]

	// op(B) as 32-column blocks. A block is read in place when B is not
	// transposed, alpha is 1 and the block is full; otherwise it is packed
	// as [k][32] (zero-padded, scaled by alpha) into bp at offset jb·k.
	if nbp > 0 {
		for jb := 0; jb < n; jb += tileC {
			if direct && jb+tileC <= n {
				continue
			}
			packB(bp[jb*k:(jb+tileC)*k], transB, alpha, b, ldb, jb, min(tileC, n-jb), k)
		}
	}
	g := gemmCall{ks: ks, transA: transA, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
		mc: mc, nc: nc, nt: nt, direct: direct, bp: bp, bk: k, scratch: buf}
	g.run(mt, workers)
}

// gemmOperands checks the bounds of C and op(A) once, so that the kernels
// cannot go outside the slices, and finishes a product with nothing to sum
// (sum false, or k ≤ 0: C is only scaled by beta). ok is false when C is done.
func gemmOperands(transA bool, m, n, k int, sum bool, a []float32, lda int, beta float32, c []float32, ldc int) (_, _ []float32, ok bool) {
	if m <= 0 || n <= 0 {
		return a, c, false
	}
	c = c[:(m-1)*ldc+n]
	if !sum || k <= 0 {
		for i := 0; i < m; i++ {
			scaleRow(c[i*ldc:i*ldc+n], beta)
		}
		return a, c, false
	}
	if transA {
		a = a[:(k-1)*lda+m]
	} else {
		a = a[:(m-1)*lda+k]
	}
	return a, c, true
}

// gemmScratch is the size of one gemm worker's scratch.
const gemmScratch = tileR*gKC + tileR*tileC

// gemmBlocking cuts an m×n product for threads workers into mt×nt tasks of
// mc×nc, and says how many workers they keep busy. Several workers get
// about 4 row tasks each, for balance; one worker takes rows gMC at a time,
// so that each task's columns of op(B) are read once for all of them.
func gemmBlocking(m, n, threads int) (mc, nc, mt, nt, workers int) {
	np := roundUp(n, tileC)
	mc = min(gMC, roundUp(m, tileR))
	if threads > 1 {
		mc = min(mc, roundUp((m+4*threads-1)/(4*threads), tileR))
	}
	nc = min(gNC, np)
	mt, nt = (m+mc-1)/mc, (np+nc-1)/nc
	return mc, nc, mt, nt, min(threads, mt*nt)
}

// run computes g's mt×nt tasks with workers goroutines.
func (g gemmCall) run(mt, workers int) {
	if workers <= 1 {
		// On the calling goroutine g stays on its stack: the attention's
		// many small products leave no garbage.
		for t := 0; t < mt*g.nt; t++ {
			g.task(0, t)
		}
		return
	}
	gp := new(gemmCall)
	*gp = g
	parallelTasks(mt*g.nt, workers, gp.task)
}

// gemmCall is one gemm's operands and blocking, shared by its tasks.
type gemmCall struct {
	ks         *kernelSet
	transA     bool
	m, n, k    int
	a          []float32
	lda        int
	b          []float32
	ldb        int
	beta       float32
	c          []float32
	ldc        int
	mc, nc, nt int
	direct     bool
	packA      bool      // copy every row panel of op(A), not just ragged ones
	bp         []float32 // packed op(B): column block jb at jb·bk
	bk         int       // rows of op(B) in bp (k, or more for a PackedB)
	scratch    []float32 // per worker [tileR*gKC] A panel, then [tileR*tileC] tile
}

// task computes C's tile t (of mc rows × nc columns) as worker wk.
func (g *gemmCall) task(wk, t int) {
	ks, transA, m, n, k, a, lda, b, ldb, beta, c, ldc := g.ks, g.transA, g.m, g.n, g.k, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc
	mc, nc, nt, direct, bp := g.mc, g.nc, g.nt, g.direct, g.bp
	const per = gemmScratch
	s := scratch{apanel: g.scratch[wk*per : wk*per+tileR*gKC], tile: g.scratch[wk*per+tileR*gKC : (wk+1)*per]}
	i0, j0 := (t/nt)*mc, (t%nt)*nc
	i1, j1 := min(i0+mc, m), min(j0+nc, n)
	// With beta = 0 the first k block overwrites C (zero tiles);
	// otherwise C is scaled first and accumulated into.
	if beta != 0 {
		for i := i0; i < i1; i++ {
			scaleRow(c[i*ldc+j0:i*ldc+j1], beta)
		}
	}
	for kb := 0; kb < k; kb += gKC {
		kl := min(gKC, k-kb)
		zero := kb == 0 && beta == 0
		for ib := i0; ib < i1; ib += tileR {
			nr := min(tileR, i1-ib)
			var ap unsafe.Pointer
			var ar, as uintptr // byte strides between rows and along k
			switch {
			case nr < tileR || g.packA:
				packA(s.apanel[:tileR*kl], transA, a, lda, ib, nr, kb, kl)
				ap, ar, as = unsafe.Pointer(&s.apanel[0]), uintptr(4*kl), 4
			case transA:
				ap, ar, as = unsafe.Pointer(&a[kb*lda+ib]), 4, uintptr(4*lda)
			default:
				ap, ar, as = unsafe.Pointer(&a[ib*lda+kb]), uintptr(4*lda), 4
			}
			for jb := j0; jb < j1; jb += tileC {
				ncol := min(tileC, n-jb)
				var bptr *float32
				var bs uintptr
				if direct && ncol == tileC {
					bptr, bs = &b[kb*ldb+jb], uintptr(4*ldb)
				} else {
					bptr, bs = &bp[jb*g.bk+kb*tileC], 4*tileC
				}
				if nr == tileR && ncol == tileC {
					ks.kernel(&c[ib*ldc+jb], uintptr(4*ldc), ap, ar, as, bptr, bs, kl, zero)
					continue
				}
				// Ragged tile: work on a copy.
				tile := s.tile
				if !zero {
					clear(tile)
					for r := 0; r < nr; r++ {
						copy(tile[r*tileC:r*tileC+ncol], c[(ib+r)*ldc+jb:])
					}
				}
				ks.kernel(&tile[0], 4*tileC, ap, ar, as, bptr, bs, kl, zero)
				for r := 0; r < nr; r++ {
					copy(c[(ib+r)*ldc+jb:(ib+r)*ldc+jb+ncol], tile[r*tileC:])
				}
			}
		}
	}
}

// scratch is one gemm worker's buffers.
type scratch struct {
	apanel []float32 // [tileR][gKC] ragged rows of op(A)
	tile   []float32 // [tileR][tileC] ragged tile of C
}

// packB writes alpha·op(B)[p][j0+c] for p < k, c < nv into dst as [k][32],
// zero-padding columns nv..31.
func packB(dst []float32, transB bool, alpha float32, b []float32, ldb, j0, nv, k int) {
	if nv < tileC {
		clear(dst)
	}
	if transB {
		// A transpose, 64 values of k at a time so that the 64 output
		// rows being written stay in L1.
		const pb = 64
		for p0 := 0; p0 < k; p0 += pb {
			pl := min(pb, k-p0)
			o := dst[p0*tileC : (p0+pl)*tileC]
			for c := 0; c < nv; c++ {
				row := b[(j0+c)*ldb+p0 : (j0+c)*ldb+p0+pl]
				for p, v := range row {
					o[p*tileC+c] = alpha * v
				}
			}
		}
		return
	}
	for p := 0; p < k; p++ {
		row := b[p*ldb+j0 : p*ldb+j0+nv]
		out := dst[p*tileC : p*tileC+nv]
		for c, v := range row {
			out[c] = alpha * v
		}
	}
}

// packA writes op(A)[i0+r][p0+p] for r < nr, p < kl into dst as [12][kl],
// zero-filling rows nr..11.
func packA(dst []float32, transA bool, a []float32, lda, i0, nr, p0, kl int) {
	clear(dst[nr*kl:])
	for r := 0; r < nr; r++ {
		out := dst[r*kl : (r+1)*kl]
		if transA {
			for p := range out {
				out[p] = a[(p0+p)*lda+i0+r]
			}
		} else {
			copy(out, a[(i0+r)*lda+p0:])
		}
	}
}

// scaleRow sets c = beta·c, with beta = 0 meaning overwrite with zeros.
func scaleRow(c []float32, beta float32) {
	switch beta {
	case 0:
		clear(c)
	case 1:
	default:
		for j := range c {
			c[j] *= beta
		}
	}
}
