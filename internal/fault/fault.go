// Package fault turns memory faults in reads of mapped files (a checkpoint
// truncated while it is mapped raises SIGBUS) into errors instead of a
// crash.
//
// runtime/debug.SetPanicOnFault works per goroutine, so every goroutine that
// reads mapped memory takes part: the goroutine at the API boundary calls
// Guard and defers Recover; a worker goroutine it starts calls Enable and
// defers Relay.Catch, and the starting goroutine calls Relay.Rethrow after
// waiting for its workers, which carries the fault up to Recover. Panics that
// are not memory faults pass through untouched.
package fault

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
)

// Error is a memory fault at Addr turned into an error; Where names what was
// being read there, when the boundary could tell.
type Error struct {
	Addr  uintptr
	Where string
	Cause error // the runtime's description
}

func (e *Error) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("memory fault reading mapped data at %#x: a mapped file changed or was truncated (%v)", e.Addr, e.Cause)
	}
	return fmt.Sprintf("%s: memory fault at %#x: the file changed or was truncated while it was mapped (%v)", e.Where, e.Addr, e.Cause)
}

func (e *Error) Unwrap() error { return e.Cause }

// addrError is the runtime.Error of a memory fault with panic-on-fault on.
type addrError interface {
	runtime.Error
	Addr() uintptr
}

// Guard turns panic-on-fault on for the calling goroutine and returns the
// function that restores the previous setting.
func Guard() (restore func()) {
	old := debug.SetPanicOnFault(true)
	return func() { debug.SetPanicOnFault(old) }
}

// Enable turns panic-on-fault on for a new goroutine (which needs no
// restore: the setting dies with it).
func Enable() { debug.SetPanicOnFault(true) }

// Recover, deferred at an API boundary after Guard, stores a memory fault
// as an *Error in *err, with where(addr) naming what addr belongs to (where
// may be nil). Any other panic continues.
func Recover(err *error, where func(addr uintptr) string) {
	v := recover()
	if v == nil {
		return
	}
	fe := asError(v)
	if fe == nil {
		panic(v)
	}
	if fe.Where == "" && where != nil {
		fe.Where = where(fe.Addr)
	}
	*err = fe
}

func asError(v any) *Error {
	switch e := v.(type) {
	case *Error:
		return e
	case addrError:
		return &Error{Addr: e.Addr(), Cause: e}
	}
	return nil
}

// Relay carries the first memory fault of a group of worker goroutines to
// the goroutine that waits for them. The zero Relay is ready to use.
type Relay struct {
	mu    sync.Mutex
	fault *Error
}

// Catch, deferred in a worker goroutine (after Enable), records a memory
// fault; any other panic continues and crashes as it would have.
func (r *Relay) Catch() {
	v := recover()
	if v == nil {
		return
	}
	fe := asError(v)
	if fe == nil {
		panic(v)
	}
	r.mu.Lock()
	if r.fault == nil {
		r.fault = fe
	}
	r.mu.Unlock()
}

// Fault returns the recorded memory fault, or nil.
func (r *Relay) Fault() *Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fault
}

// Reset forgets the recorded fault, for a Relay used again.
func (r *Relay) Reset() {
	r.mu.Lock()
	r.fault = nil
	r.mu.Unlock()
}

// Rethrow, called after the workers are done, panics with the recorded
// fault, if any, for Recover to turn into an error.
func (r *Relay) Rethrow() {
	r.mu.Lock()
	fe := r.fault
	r.mu.Unlock()
	if fe != nil {
		panic(fe)
	}
}
