package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// arenas recycles the scratch memory of MatMulT and Gemm between calls (a
// forward pass makes hundreds of calls of a few shapes), so that they do not
// allocate megabytes per call. It holds no state between calls: every
// buffer taken from it is written before it is read.
var arenas sync.Pool // of *[]float32

// getArena returns a buffer of n float32 with unspecified contents.
func getArena(n int) *[]float32 {
	if v, ok := arenas.Get().(*[]float32); ok {
		if cap(*v) >= n {
			*v = (*v)[:n]
			return v
		}
	}
	b := make([]float32, n)
	return &b
}

// putArena returns a buffer from getArena to the pool.
func putArena(b *[]float32) { arenas.Put(b) }

// numThreads resolves a threads argument: ≤ 0 means GOMAXPROCS.
func numThreads(threads int) int {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return threads
}

// parallelFor runs body(lo, hi) over [0, n) in chunks of size chunk, handed
// out dynamically to up to threads goroutines (the caller's included), so a
// thread slowed down by other load on the machine takes fewer chunks.
func parallelFor(n, chunk, threads int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if chunk < 1 {
		chunk = 1
	}
	nchunks := (n + chunk - 1) / chunk
	if threads > nchunks {
		threads = nchunks
	}
	if threads <= 1 {
		body(0, n)
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			c := int(next.Add(1) - 1)
			if c >= nchunks {
				return
			}
			lo := c * chunk
			body(lo, min(lo+chunk, n))
		}
	}
	var wg sync.WaitGroup
	for t := 1; t < threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// parallelTasks runs task(worker, t) for t in [0, ntasks) on up to workers
// goroutines (the caller's included), handing tasks out dynamically; worker
// is in [0, workers) and unique among concurrently running tasks, for
// indexing per-worker scratch.
func parallelTasks(ntasks, workers int, task func(worker, t int)) {
	if workers > ntasks {
		workers = ntasks
	}
	if workers <= 1 {
		for t := 0; t < ntasks; t++ {
			task(0, t)
		}
		return
	}
	var next atomic.Int64
	work := func(wk int) {
		for {
			t := int(next.Add(1) - 1)
			if t >= ntasks {
				return
			}
			task(wk, t)
		}
	}
	var wg sync.WaitGroup
	for wk := 1; wk < workers; wk++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(wk)
		}()
	}
	work(0)
	wg.Wait()
}
