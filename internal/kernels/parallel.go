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

// serialFlops is the size of product (in flops) below which MatMulT and
// Gemm stay on the calling goroutine: about 25 µs of work, where handing
// half of it to another goroutine gains little on an idle machine and loses
// when the other core is busy.
const serialFlops = 1 << 22

// numThreads resolves a threads argument: ≤ 0 means GOMAXPROCS.
func numThreads(threads int) int {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return threads
}

// parallelTasks runs task(worker, t) for t in [0, ntasks) on up to workers
// goroutines (the caller's included), handing tasks out dynamically, and
// returns when all tasks are done; worker is in [0, workers) and unique among
// concurrently running tasks, for indexing per-worker scratch.
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
	// The caller waits for the tasks, not for the goroutines: on a busy
	// machine a helper may be scheduled only after the caller has done all
	// the work, and then it just finds nothing left and exits.
	var next, done atomic.Int64
	finished := make(chan struct{})
	work := func(wk int) {
		for {
			t := int(next.Add(1) - 1)
			if t >= ntasks {
				return
			}
			task(wk, t)
			if done.Add(1) == int64(ntasks) {
				close(finished)
			}
		}
	}
	for wk := 1; wk < workers; wk++ {
		go work(wk)
	}
	work(0)
	<-finished
}
