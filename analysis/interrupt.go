package analysis

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// SignalError is the cause of a run stopped by a signal.
type SignalError struct{ Signal os.Signal }

func (e *SignalError) Error() string { return fmt.Sprintf("interrupted by %s", signalName(e.Signal)) }

// ExitCode is the shell's code for a process ended by the signal: 128 plus
// its number (130 for SIGINT, 143 for SIGTERM).
func (e *SignalError) ExitCode() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 1
}

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// StopOnSignals returns a context that the first SIGINT or SIGTERM cancels
// with a *SignalError as its cause, so that a series stops after the
// checkpoint in progress (saying so on log); a second signal ends the
// process at once. stop releases the signals.
func StopOnSignals(parent context.Context, log io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Reset(os.Interrupt, syscall.SIGTERM) // the next one kills
			fmt.Fprintf(log, "sinkscope: %s: stopping after the checkpoint in progress (again to stop at once)\n", signalName(s))
			cancel(&SignalError{Signal: s})
		case <-quit:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(quit)
		cancel(nil)
	}
}
