package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// arenas recycles the scratch memory of MatMulT and Gemm between calls (a
// forward pass makes hundreds of calls of a few shapes), so that they do not
// allocate per call: a long analysis then makes almost no garbage, and its
// memory does not drift with the number of passes. Unlike a sync.Pool it is
// not emptied by garbage collections. It holds no state between calls: every
// buffer taken from it is written before it is read.
var arenas struct {
	sync.Mutex
	free []*[]float32
}

// maxArenas bounds the buffers kept: one per concurrent call is enough.
const maxArenas = 16

// getArena returns a buffer of n float32 with unspecified contents: the
// largest kept one when it is big enough.
func getArena(n int) *[]float32 {
	arenas.Lock()
	defer arenas.Unlock()
	if k := len(arenas.free); k > 0 {
		if v := arenas.free[k-1]; cap(*v) >= n {
			arenas.free = arenas.free[:k-1]
			*v = (*v)[:n]
			return v
		}
		// Too small: drop it for a bigger one, so that the list converges
		// to buffers of the largest size in use.
		arenas.free = arenas.free[:k-1]
	}
	b := make([]float32, n)
	return &b
}

// putArena keeps a buffer from getArena for later calls, largest last.
func putArena(b *[]float32) {
	arenas.Lock()
	defer arenas.Unlock()
	if len(arenas.free) == maxArenas {
		return
	}
	arenas.free = append(arenas.free, b)
	for i := len(arenas.free) - 1; i > 0 && cap(*arenas.free[i-1]) > cap(*arenas.free[i]); i-- {
		arenas.free[i-1], arenas.free[i] = arenas.free[i], arenas.free[i-1]
	}
}

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
