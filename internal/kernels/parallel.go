package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sinkscope/sinkscope/internal/fault"
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

// Parallel calls f(worker, i) for every i in [0, n) on up to workers
// goroutines (the caller's and the persistent helpers'), handing the indices
// out dynamically, and returns when all calls are done; worker is in
// [0, workers) and unique among concurrently running calls, for indexing
// per-worker scratch. workers ≤ 0 means GOMAXPROCS.
func Parallel(n, workers int, f func(worker, i int)) { parallelTasks(n, numThreads(workers), f) }

// helpers are the persistent goroutines that run the tasks of
// parallelTasks, so that a call hands its work to running goroutines
// instead of starting new ones (and leaves no per-call garbage of
// goroutine closures, channels and counters behind). Like arenas they
// keep no state between calls: an idle helper waits on the channel.
var helpers struct {
	sync.Mutex
	started int           // helpers running
	work    chan helpItem // tasks offered to any idle helper
	free    []*job        // finished jobs, for reuse
}

// helpItem offers worker slot wk of j to a helper.
type helpItem struct {
	j  *job
	wk int
}

// job is one parallelTasks call. Its participants (the caller and every
// helper that took an item of it) draw task indices from next; the one that
// completes the last task signals finished; the last to leave returns the job
// to helpers.free. A late helper may arrive after the call returned: it finds
// no task left and only leaves.
type job struct {
	task     func(worker, t int)
	ntasks   int64
	next     atomic.Int64
	done     atomic.Int64
	inside   atomic.Int64  // participants that have not left
	finished chan struct{} // one value per call
	relay    fault.Relay   // a memory fault of a task, for the caller
}

// run runs task t as worker wk; a memory fault (package fault: a mapped
// file truncated under the run) is kept for the caller, so that the task
// still counts as done and the call returns.
func (j *job) run(wk, t int) {
	defer j.relay.Catch()
	j.task(wk, t)
}

// take runs tasks of j as worker wk until none is left.
func (j *job) take(wk int) {
	for {
		t := j.next.Add(1) - 1
		if t >= j.ntasks {
			return
		}
		j.run(wk, int(t))
		if j.done.Add(1) == j.ntasks {
			j.finished <- struct{}{}
		}
	}
}

// leave ends a participant's part in j; the last one returns j for reuse.
// The caller leaves only after it has received finished, so a reused job's
// channel is empty.
func (j *job) leave() {
	if j.inside.Add(-1) == 0 {
		j.task = nil
		helpers.Lock()
		helpers.free = append(helpers.free, j)
		helpers.Unlock()
	}
}

// helperLoop is the body of a persistent helper.
func helperLoop(work <-chan helpItem) {
	fault.Enable()
	for it := range work {
		it.j.take(it.wk)
		it.j.leave()
	}
}

// parallelTasks runs task(worker, t) for t in [0, ntasks) on up to workers
// goroutines (the caller's included, the others persistent helpers),
// handing tasks out dynamically, and returns when all tasks are done; worker
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
	helpers.Lock()
	if helpers.work == nil {
		helpers.work = make(chan helpItem, 64)
	}
	for helpers.started < workers-1 {
		go helperLoop(helpers.work)
		helpers.started++
	}
	var j *job
	if n := len(helpers.free); n > 0 {
		j = helpers.free[n-1]
		helpers.free = helpers.free[:n-1]
	} else {
		j = &job{finished: make(chan struct{}, 1)}
	}
	helpers.Unlock()
	j.task, j.ntasks = task, int64(ntasks)
	j.next.Store(0)
	j.done.Store(0)
	j.relay.Reset()
	j.inside.Store(int64(workers))
	// The caller waits for the tasks, not for the helpers: on a busy
	// machine a helper may be scheduled only after the caller has done all
	// the work, and then it just finds nothing left and leaves. A slot no
	// helper can take now (the queue is full) is given up.
	for wk := 1; wk < workers; wk++ {
		select {
		case helpers.work <- helpItem{j, wk}:
		default:
			j.inside.Add(-1)
		}
	}
	j.take(0)
	<-j.finished
	fe := j.relay.Fault()
	j.leave()
	if fe != nil {
		panic(fe) // on the caller, for fault.Recover at the API boundary
	}
}
