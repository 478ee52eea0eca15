package analysis

import (
	"fmt"
	"io"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/internal/fault"
)

// SeriesOptions configures Series.
type SeriesOptions struct {
	Heads   HeadOptions // the analysis of each checkpoint (its Progress is ignored)
	Threads int         // goroutines of a forward pass (0: one per CPU)
	Cache   Cache       // where results are kept between runs
	// Log receives one status line per checkpoint (computed, cached or
	// duplicate) and warnings; nil discards them.
	Log io.Writer
	// Progress, when not nil, is called before each long step of a
	// checkpoint (hashing its tensors, its forward passes) with what the
	// step is and how many units it has, and returns the functions to call
	// after each unit and at the end.
	Progress func(label string, total int) (step, done func())
}

// SeriesResult is one checkpoint's analysis.
type SeriesResult struct {
	Checkpoint
	Status string  // "computed", "cached" or "duplicate of …"
	Report *Report // labelled with the checkpoint's Arg
}

// Series runs the head analysis on every checkpoint, one open at a time. A
// checkpoint identical to an earlier one (same loader.Identity) is reported
// and its results reused; results are kept in the cache under the
// checkpoint's identity and the inputs, and reused from it.
func Series(cs []Checkpoint, src *Sources, opts SeriesOptions) ([]SeriesResult, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int) (func(), func()) { return func() {}, func() {} }
	}
	digest, err := src.Digest()
	if err != nil {
		return nil, err
	}
	digest += "\x00" + opts.Heads.digest()
	out := make([]SeriesResult, len(cs))
	first := map[string]int{} // identity → first checkpoint holding it
	for i, c := range cs {
		out[i].Checkpoint = c
		ck, err := sinkscope.OpenCheckpoint(c.Arg)
		if err != nil {
			return nil, fmt.Errorf("diff: checkpoint %d of %d: %w", i+1, len(cs), err)
		}
		step, done := progress(fmt.Sprintf("%s: hashing %d tensors", c.Arg, len(ck.Tensors.Names())), len(ck.Tensors.Names()))
		id, err := opts.Cache.Identify(ck, step)
		done()
		ck.Close()
		if err != nil {
			return nil, fmt.Errorf("diff: %s: %w", c.Arg, err)
		}
		if j, ok := first[id.Hash]; ok {
			out[i].Status = "duplicate of " + cs[j].Arg
			fmt.Fprintf(log, "sinkscope: warning: diff: %s and %s are the same checkpoint (same config.json and %s, sha256 %s…); reusing the results of %s\n",
				cs[j].Arg, c.Arg, id.How, id.Hash[:12], cs[j].Arg)
			dup := *out[j].Report
			dup.Label = c.Arg
			out[i].Report = &dup
			continue
		}
		first[id.Hash] = i
		key := Key(id, digest)
		if r := opts.Cache.Load(key, log); r != nil {
			r.Label = c.Arg
			out[i].Status, out[i].Report = "cached", r
			fmt.Fprintf(log, "diff: [%d/%d] %s: cached (%s)\n", i+1, len(cs), c.Arg, opts.Cache.Path(key))
			continue
		}
		r, err := Run(c.Arg, opts.Threads, src, opts.Heads, progress)
		if err != nil {
			return nil, err
		}
		if err := opts.Cache.Store(key, r); err != nil {
			fmt.Fprintf(log, "sinkscope: warning: %v (results not cached)\n", err)
		}
		out[i].Status, out[i].Report = "computed", r
		fmt.Fprintf(log, "diff: [%d/%d] %s: computed\n", i+1, len(cs), c.Arg)
	}
	return out, nil
}

// Run opens the model arg, turns the sources into its domains and runs Heads
// on them, with a progress bar from progress (nil: none) over its forward
// passes.
//
// A memory fault reading the mapped weights (a file truncated underneath the
// run) is returned as an error naming the file and tensor, and a weights file
// whose size or modification time changed during the run makes the results
// an error too.
func Run(arg string, threads int, src *Sources, opts HeadOptions, progress func(label string, total int) (step, done func())) (rep *Report, err error) {
	m, err := Open(arg, threads)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	defer fault.Guard()()
	defer fault.Recover(&err, m.Checkpoint.Tensors.Describe)
	defer func() {
		if err == nil {
			if err = m.Checkpoint.Tensors.Changed(); err != nil {
				rep = nil
			}
		}
	}()
	doms, err := src.For(m)
	if err != nil {
		return nil, err
	}
	if progress != nil {
		total := opts.Passes(m.Info(), doms)
		step, done := progress(fmt.Sprintf("%s: %d forward passes", arg, total), total)
		defer done()
		opts.Progress = step
	}
	return Heads(m, doms, opts)
}
