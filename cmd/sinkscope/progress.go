package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
)

// progress draws a bar with an ETA on stderr when stderr is a terminal, and
// nothing otherwise.
type progress struct {
	w           io.Writer
	label       string
	total, done int
	start, last time.Time
}

func newProgress(w io.Writer, label string, total int) *progress {
	f, ok := w.(*os.File)
	if !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) || total == 0 {
		return &progress{}
	}
	return &progress{w: w, label: label, total: total, start: time.Now()}
}

// bars returns a progress factory for analysis.SeriesOptions.Progress.
func bars(w io.Writer) func(label string, total int) (step, done func()) {
	return func(label string, total int) (func(), func()) {
		p := newProgress(w, label, total)
		return p.step, p.finish
	}
}

func (p *progress) step() {
	if p.w == nil {
		return
	}
	p.done++
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond && p.done < p.total {
		return
	}
	p.last = now
	frac := min(1, float64(p.done)/float64(p.total))
	const width = 30
	n := int(frac * width)
	eta := "?"
	if p.done > 0 {
		el := now.Sub(p.start)
		eta = time.Duration(float64(el) * (1 - frac) / frac).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %d/%d ETA %s ", p.label, strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, p.done, p.total, eta)
}

func (p *progress) finish() {
	if p.w != nil && p.done > 0 {
		fmt.Fprintln(p.w)
	}
}
