package main

import (
	"os"
	"runtime/debug"
)

// analysisGCPercent is the garbage collector's headroom during an analysis
// over many sequences (`heads`, `diff`). The forward passes reuse their
// activation buffers and make little garbage per sequence, so nearly all of
// the heap is long-lived; Go's default headroom (GOGC=100) would let the heap
// drift up to twice that over a long run, making peak memory depend on how
// many sequences were analysed. 50 halves the drift at the cost of a few
// more, cheap, collections (the buffers hold no pointers).
const analysisGCPercent = 50

// tightenGC sets analysisGCPercent unless the user chose GOGC, and returns a
// function that restores the previous setting.
func tightenGC() (restore func()) {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return func() {}
	}
	old := debug.SetGCPercent(analysisGCPercent)
	return func() { debug.SetGCPercent(old) }
}
