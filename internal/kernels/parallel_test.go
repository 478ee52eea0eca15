package kernels

import (
	"sync/atomic"
	"testing"
)

func TestParallelTasks(t *testing.T) {
	for _, tc := range []struct{ ntasks, workers int }{{0, 2}, {1, 4}, {5, 1}, {7, 3}, {100, 2}, {3, 8}} {
		runs := make([]atomic.Int32, tc.ntasks)
		busy := make([]atomic.Int32, max(tc.workers, 1))
		parallelTasks(tc.ntasks, tc.workers, func(wk, task int) {
			if wk < 0 || wk >= max(tc.workers, 1) {
				t.Errorf("worker index %d out of [0, %d)", wk, tc.workers)
				return
			}
			if busy[wk].Add(1) != 1 {
				t.Errorf("worker %d runs two tasks at once", wk)
			}
			runs[task].Add(1)
			busy[wk].Add(-1)
		})
		for i := range runs {
			if n := runs[i].Load(); n != 1 {
				t.Errorf("%+v: task %d ran %d times, want 1", tc, i, n)
			}
		}
	}
}
