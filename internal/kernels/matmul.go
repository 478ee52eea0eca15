package kernels

import "unsafe"

// Blocking of MatMulT. The product is computed transposed, one tile of
// 12 weight rows × 32 tokens at a time: the microkernel broadcasts weight
// elements (a side: a converted 12×kc panel, or the f32 weight itself) and
// streams the tokens packed as [k][32] (b side). So weights never need a
// transpose, only a conversion of 12×kc panels into a small buffer, and each
// converted element is used for up to mtMC tokens.
const (
	mtKC = 256 // k block: a 12×mtKC panel (12 KiB) stays in L1
	mtMC = 256 // tokens per pass: packed [mtKC][mtMC] x block (256 KiB) in L2
	mtNC = 96  // weight rows per task (a multiple of tileR)
)

// MatMulT computes dst = x · wᵀ: dst is [n][w.Rows], x is [n][w.Cols].
// Weights are read in their stored dtype and converted in small panels; no
// float32 copy of w is made. threads ≤ 0 uses GOMAXPROCS goroutines. A
// Transposed w (stored [Cols][Rows]) is read in place too, and gives the
// same bits as the same matrix stored [Rows][Cols].
//
// On a given CPU, every output element is the same chain of float32
// multiply-adds over k in the same order whatever n and threads are, so a
// token's row of dst does not depend on which other tokens are in x (a
// one-token call gives the bits of a full-sequence call) nor on the thread
// count.
func MatMulT(dst, x []float32, n int, w Weight, threads int) {
	threads = numThreads(threads)
	if 2*n*w.Rows*w.Cols < serialFlops {
		threads = 1
	}
	matMulT(bestKernels(), dst, x, n, w, threads)
}

// mtScratch is one worker's buffers.
type mtScratch struct {
	panel []float32 // [tileR][kc] converted weights
	ctile []float32 // [nc][mp] result tile, transposed
}

// mtParams are MatMulT's blocking parameters (mtDefault in production;
// benchmarks compare others).
type mtParams struct {
	kc, mc, nc int
	// tkc and tnc replace kc and nc for a transposed weight that is
	// converted (see matMulTParams); 0 keeps kc, nc.
	tkc, tnc int
	// copyF32 converts (copies) f32 weight panels like the other dtypes
	// instead of reading them in place.
	copyF32 bool
}

// A transposed weight that is converted goes a task's k block at a time:
// wider tasks give longer contiguous runs per storage row (768 bytes of
// bf16), a shorter k block keeps the converted block ([mtTKC][mtTNC], 192
// KiB) in L2.
const (
	mtTKC = 128
	mtTNC = 384 // a multiple of tileR
)

var mtDefault = mtParams{kc: mtKC, mc: mtMC, nc: mtNC, tkc: mtTKC, tnc: mtTNC}

func matMulT(ks *kernelSet, dst, x []float32, n int, w Weight, threads int) {
	matMulTParams(ks, mtDefault, dst, x, n, w, threads)
}

func matMulTParams(ks *kernelSet, prm mtParams, dst, x []float32, n int, w Weight, threads int) {
	rows, k := w.Rows, w.Cols
	if n <= 0 || rows <= 0 {
		return
	}
	dst = dst[:n*rows]
	if k <= 0 {
		clear(dst)
		return
	}
	x = x[:n*k]
	_ = w.Data[w.storageLen()*w.DType.Size()-1]
	threads = numThreads(threads)

	// With f32 weights the kernel can broadcast straight from the weight
	// bytes (the assembly kernels do not care about alignment). Weight
	// element (r, p) is at byte offset r·wr + p·wp: a transposed weight is
	// read with the a side's strides swapped (every kernel takes any ar, ap).
	var wdirect unsafe.Pointer
	if w.DType == F32 && ks.directF32 && !prm.copyF32 {
		wdirect = unsafe.Pointer(unsafe.SliceData(w.Data))
	}
	wbase := unsafe.Pointer(unsafe.SliceData(w.Data))
	esz := w.DType.Size()
	wr, wp := esz*k, esz
	if w.Transposed {
		wr, wp = esz, esz*w.tstride()
	}
	// A transposed weight that is not read in place is converted a task's
	// k block at a time, into a column-major [kc][tw] buffer that the kernel
	// reads in place (ar = 4): one conversion of a contiguous run per
	// storage row of the block, instead of a 12-element run per storage row
	// of each panel.
	tcols := w.Transposed && wdirect == nil
	if tcols {
		if prm.tkc > 0 {
			prm.kc = prm.tkc
		}
		if prm.tnc > 0 {
			prm.nc = prm.tnc
		}
	}
	kc := prm.kc

	// Weight rows per task: smaller tasks when there are few rows, so that
	// every thread gets work.
	nc := min(prm.nc, roundUp((rows+2*threads-1)/(2*threads), tileR))
	ntasks := (rows + nc - 1) / nc
	// Token tile width: the full 32, or 16 or 8 for a handful of tokens
	// (one token being decoded) so that less of the tile is padding. All
	// kernels compute each element with the same chain of operations.
	tc, kernel := tileC, ks.kernel
	switch {
	case n <= tileC/4:
		tc, kernel = tileC/4, ks.kernel8
	case n <= tileC/2:
		tc, kernel = tileC/2, ks.kernel16
	}
	mc := min(prm.mc, roundUp(n, tc))
	workers := min(threads, ntasks)
	plen, tw := tileR*kc, 0
	if tcols {
		tw = roundUp(nc, tileR)
		plen = kc * tw
	}
	// One pooled arena per call: the packed tokens, then each worker's
	// scratch. Every part is written before it is read.
	arena := getArena(mc*k + workers*(plen+nc*mc))
	defer putArena(arena)
	buf := *arena
	xt := buf[:mc*k] // [mc/tc][k][tc] packed tokens
	buf = buf[mc*k:]
	c := &mtCall{ks: ks, dst: dst, w: w, rows: rows, k: k, nc: nc, kc: kc, tc: tc, tw: tw, tcols: tcols, kernel: kernel,
		wdirect: wdirect, wbase: wbase, esz: esz, wr: wr, wp: wp, xt: xt, buf: buf, plen: plen, per: plen + nc*mc}
	task := c.task // one closure per call, shared by its token blocks
	for i0 := 0; i0 < n; i0 += mc {
		m := min(mc, n-i0)
		mp := roundUp(m, tc)
		packTokens(xt, x[i0*k:(i0+m)*k], m, mp, tc, k, threads)
		c.i0, c.m, c.mp = i0, m, mp
		parallelTasks(ntasks, workers, task)
	}
}

// mtCall is one MatMulT's operands and blocking, shared by its tasks.
type mtCall struct {
	ks         *kernelSet
	dst        []float32
	w          Weight
	rows, k    int
	nc, kc, tc int
	tw         int
	tcols      bool
	kernel     func(c *float32, cs uintptr, a unsafe.Pointer, ar, ap uintptr, b *float32, bs uintptr, k int, zero bool)
	wdirect    unsafe.Pointer
	wbase      unsafe.Pointer
	esz        int
	wr, wp     int
	xt         []float32 // packed tokens of the current block
	buf        []float32 // per worker: converted panel [plen], then result tile
	plen, per  int
	i0, m, mp  int // the current token block: first token, tokens, padded
}

// prefetch requests the weight bytes of rows [jb, jb+nr), columns
// [kb, kb+kl): nr runs of kl elements, or for a transposed weight the runs
// of nr elements of kl storage rows (63 bytes more, as a short run often
// straddles two cache lines).
func (c *mtCall) prefetch(jb, nr, kb, kl int) {
	ks, k, esz := c.ks, c.k, c.esz
	kl = min(kl, k-kb)
	if ks.prefetch == nil || nr <= 0 || kl <= 0 {
		return
	}
	p := unsafe.Add(c.wbase, jb*c.wr+kb*c.wp)
	if c.w.Transposed {
		ks.prefetch(p, uintptr(c.wp), kl, esz*nr+63)
		return
	}
	ks.prefetch(p, uintptr(c.wr), nr, esz*kl)
}

// task computes weight rows [t·nc, (t+1)·nc) of the current token block as
// worker wk.
func (c *mtCall) task(wk, t int) {
	ks, dst, w, rows, k, nc, kc, tc, tw, tcols, kernel := c.ks, c.dst, c.w, c.rows, c.k, c.nc, c.kc, c.tc, c.tw, c.tcols, c.kernel
	wdirect, wr, wp, xt, i0, m, mp := c.wdirect, c.wr, c.wp, c.xt, c.i0, c.m, c.mp
	prefetch := c.prefetch
	s := mtScratch{panel: c.buf[wk*c.per : wk*c.per+c.plen], ctile: c.buf[wk*c.per+c.plen : (wk+1)*c.per]}
	j0 := t * nc
	j1 := min(j0+nc, rows)
	ctile := s.ctile[:nc*mp] // the first k block writes every element
	npanels := (j1 - j0 + tileR - 1) / tileR
	// panelAt returns the a-side pointer and strides of the
	// 12-row weight panel at jb for the k block [kb, kb+kl):
	// in the converted block when tcols, else converted into buf
	// (row stride kl) unless it can be read in place. (Swapping the
	// loops, to keep a token panel in L1 and stream converted weight
	// panels from L2 instead, measured no faster.)
	panelAt := func(buf []float32, jb, kb, kl int) (a unsafe.Pointer, ar, ap uintptr) {
		if tcols {
			return unsafe.Pointer(&buf[jb-j0]), 4, uintptr(4 * tw)
		}
		nr := min(tileR, j1-jb)
		if wdirect != nil && nr == tileR {
			return unsafe.Add(wdirect, jb*wr+kb*wp), uintptr(wr), uintptr(wp)
		}
		w.block(ks, buf, kl, jb, nr, kb, kl)
		clear(buf[nr*kl : tileR*kl])
		return unsafe.Pointer(&buf[0]), uintptr(4 * kl), 4
	}
	for kb := 0; kb < k; kb += kc {
		kl := min(kc, k-kb)
		if tcols {
			// The task's rows [j0, j1) of this k block, the rows
			// after j1 up to a whole panel zero.
			nr, pad := j1-j0, npanels*tileR
			w.blockCols(ks, s.panel, tw, j0, nr, kb, kl)
			if pad > nr {
				for p := 0; p < kl; p++ {
					clear(s.panel[p*tw+nr : p*tw+pad])
				}
			}
		}
		for jb := j0; jb < j1; jb += tileR {
			switch i := (jb - j0) / tileR; {
			case tcols:
				// The next k block, spread over this one's panels.
				p0, p1 := i*kc/npanels, (i+1)*kc/npanels
				prefetch(j0, j1-j0, kb+kc+p0, p1-p0)
			case jb+tileR < j1:
				prefetch(jb+tileR, min(tileR, j1-jb-tileR), kb, kc)
			default:
				prefetch(j0, min(tileR, j1-j0), kb+kc, kc)
			}
			a, ar, ap := panelAt(s.panel, jb, kb, kl)
			for ib := 0; ib < mp; ib += tc {
				kernel(&ctile[(jb-j0)*mp+ib], uintptr(4*mp), a, ar, ap, &xt[ib*k+kb*tc], uintptr(4*tc), kl, kb == 0)
			}
		}
	}
	for i := 0; i < m; i++ {
		d := dst[(i0+i)*rows+j0 : (i0+i)*rows+j1]
		for r := range d {
			d[r] = ctile[r*mp+i]
		}
	}
}

// packTokens writes the m rows of x ([m][k]) transposed into blocks of tc
// tokens, xt[blk][p][c] = x[blk·tc+c][p], zero-padded to mp tokens. The
// transpose goes 64 columns of x at a time so that the 64 output rows being
// written stay in L1.
func packTokens(xt, x []float32, m, mp, tc, k, threads int) {
	if 2*m*k < 1<<18 {
		threads = 1
	}
	if threads <= 1 || mp/tc <= 1 {
		for blk := 0; blk < mp/tc; blk++ {
			packBlock(xt, x, m, tc, k, blk)
		}
		return
	}
	parallelTasks(mp/tc, threads, func(_, blk int) { packBlock(xt, x, m, tc, k, blk) })
}

// packBlock writes block blk of tc tokens of packTokens.
func packBlock(xt, x []float32, m, tc, k, blk int) {
	const pb = 64
	out := xt[blk*tc*k : (blk+1)*tc*k]
	c0 := blk * tc
	nv := min(tc, m-c0)
	if nv < tc {
		clear(out)
	}
	for p0 := 0; p0 < k; p0 += pb {
		pl := min(pb, k-p0)
		o := out[p0*tc : (p0+pl)*tc]
		for c := 0; c < nv; c++ {
			row := x[(c0+c)*k+p0 : (c0+c)*k+p0+pl]
			for p, v := range row {
				o[p*tc+c] = v
			}
		}
	}
}

func roundUp(v, m int) int { return (v + m - 1) / m * m }
