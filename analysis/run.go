package analysis

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/internal/fault"
	"github.com/sinkscope/sinkscope/loader"
)

// SeriesOptions configures Series.
type SeriesOptions struct {
	Heads   HeadOptions // the analysis of each checkpoint (its Progress is ignored)
	Threads int         // goroutines of a forward pass (0: one per CPU)
	Cache   Cache       // where results are kept between runs and shared between workers
	// Shard, when its Count is not 0, limits the run to this worker's share
	// of the distinct checkpoints (see Series).
	Shard Shard
	// Merge computes nothing: every result comes from the cache, and
	// checkpoints without one are a *MissingError.
	Merge bool
	// Context, when not nil, stops the run between checkpoints once it is
	// done: Series returns an *Interrupted.
	Context context.Context
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
	// Status is "computed", "cached", "duplicate of …", or "" for a
	// checkpoint of another shard.
	Status string
	Report *Report // labelled with the checkpoint's Arg; nil for another shard's
}

// Series runs the head analysis on every checkpoint, one open at a time.
//
// Every checkpoint is identified first (loader.Identity): one identical to
// an earlier one is reported and its results reused. Results are kept in
// the cache under the checkpoint's identity and the inputs, and reused from
// it. With a Shard, the distinct checkpoints are split among the workers by
// bytes (see assign) and only this worker's are analysed; the others are
// left without a report. Workers sharing a cache directory never compute one
// checkpoint at once: each takes the checkpoint's lock first (Cache.TryLock),
// and one held by a live worker is waited for after the rest.
func Series(cs []Checkpoint, src *Sources, opts SeriesOptions) ([]SeriesResult, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string, int) (func(), func()) { return func() {}, func() {} }
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	digest, err := src.Digest()
	if err != nil {
		return nil, err
	}
	digest += "\x00" + opts.Heads.digest()
	out := make([]SeriesResult, len(cs))
	ids, sizes0, err := identifyAll(ctx, cs, opts, log, progress)
	if err != nil {
		return nil, err
	}
	first := map[string]int{} // identity → first checkpoint holding it
	var distinct []int        // checkpoints that are no earlier one's duplicate
	var sizes []int64
	for i, c := range cs {
		out[i].Checkpoint = c
		id := ids[i]
		if j, ok := first[id.Hash]; ok {
			out[i].Status = "duplicate of " + cs[j].Arg
			fmt.Fprintf(log, "sinkscope: warning: diff: %s and %s are the same checkpoint (same config.json and %s, sha256 %s…); reusing the results of %s\n",
				cs[j].Arg, c.Arg, id.How, id.Hash[:12], cs[j].Arg)
			continue
		}
		first[id.Hash] = i
		distinct = append(distinct, i)
		sizes = append(sizes, sizes0[i])
	}
	mine := distinct
	if opts.Shard.Count > 0 {
		mine = nil
		for k, w := range assign(sizes, opts.Shard.Count) {
			if w == opts.Shard.Index {
				mine = append(mine, distinct[k])
			}
		}
		fmt.Fprintf(log, "diff: %s: %d of the %d distinct checkpoints\n", opts.Shard, len(mine), len(distinct))
	}
	if opts.Merge {
		var missing []Checkpoint
		for _, i := range mine {
			if r := opts.Cache.Load(Key(ids[i], digest), ids[i], digest, log); r != nil {
				r.Label = cs[i].Arg
				out[i].Status, out[i].Report = "cached", r
				continue
			}
			missing = append(missing, cs[i])
		}
		if len(missing) > 0 {
			return nil, &MissingError{Missing: missing, Total: len(mine)}
		}
	} else if err := compute(ctx, cs, ids, mine, out, src, digest, opts, log, progress); err != nil {
		return nil, err
	} else if opts.Shard.Count > 0 {
		fmt.Fprintf(log, "diff: %s: done; once every shard is done, the same command with --merge prints the series\n", opts.Shard)
	}
	for i := range out {
		if j, ok := first[ids[i].Hash]; ok && j != i && out[j].Report != nil {
			dup := *out[j].Report
			dup.Label = cs[i].Arg
			out[i].Report = &dup
		}
	}
	return out, nil
}

// identifyAll identifies every checkpoint and counts the bytes of its
// tensors, one checkpoint open at a time.
//
// Workers of a sharded run share the hashing: a checkpoint's identity is
// first needed to know whose it is, so the checkpoints are dealt out by
// bytes as they come (the same deal as for the work, before duplicates are
// known) and each worker hashes its own, recording the identities in the
// shared cache (Cache.Identify), and reads the others' from there. Each
// worker announces itself in the cache (Dir/workers/); a checkpoint dealt to
// a worker that has not (it has not started, or uses another cache) is
// hashed here, and so is one that no worker has recorded after a lock
// timeout without progress.
func identifyAll(ctx context.Context, cs []Checkpoint, opts SeriesOptions, log io.Writer,
	progress func(string, int) (func(), func())) ([]loader.Identity, []int64, error) {
	ids := make([]loader.Identity, len(cs))
	sizes := make([]int64, len(cs))
	share := opts.Shard.Count > 1 && opts.Cache.Dir != "" && !opts.Merge
	var d *dealer
	present := func(int) bool { return false }
	if share {
		d = newDealer(opts.Shard.Count)
		present = opts.Cache.announce(opts.Shard)
	}
	var others []int       // checkpoints left to the worker they were dealt to
	dealt := map[int]int{} // … and which that is
	start := time.Now()
	for i, c := range cs {
		if ctx.Err() != nil {
			return nil, nil, &Interrupted{Cause: context.Cause(ctx), Total: len(cs)}
		}
		err := withCheckpoint(c, func(ck *loader.Checkpoint) error {
			sizes[i] = tensorBytes(ck)
			if share {
				if w := d.deal(sizes[i]); w != opts.Shard.Index {
					if id, ok := opts.Cache.Known(ck); ok {
						ids[i] = id
					} else {
						others = append(others, i)
						dealt[i] = w
					}
					return nil
				}
			}
			var err error
			ids[i], err = identify(c, ck, opts.Cache, log, progress)
			return err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("diff: checkpoint %d of %d: %w", i+1, len(cs), err)
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(log, "diff: waiting for the other workers to identify %s\n", Plural(len(others), "checkpoint"))
	}
	since := time.Now() // the last progress
	for len(others) > 0 {
		var left []int
		giveUp := time.Since(since) > opts.Cache.lockTimeout()
		for _, i := range others {
			err := withCheckpoint(cs[i], func(ck *loader.Checkpoint) error {
				if id, ok := opts.Cache.Known(ck); ok {
					ids[i] = id
					since = time.Now()
					return nil
				}
				// A worker that has not announced itself within a poll
				// interval is not coming (soon): its share is hashed here.
				absent := !present(dealt[i]) && time.Since(start) > pollInterval(opts.Cache)
				if !giveUp && !absent {
					left = append(left, i)
					return nil
				}
				var err error
				ids[i], err = identify(cs[i], ck, opts.Cache, log, progress)
				return err
			})
			if err != nil {
				return nil, nil, fmt.Errorf("diff: checkpoint %d of %d: %w", i+1, len(cs), err)
			}
		}
		if giveUp {
			fmt.Fprintf(log, "sinkscope: warning: diff: the other workers identified no checkpoint for %v; hashing the rest here\n", opts.Cache.lockTimeout())
		}
		if others = left; len(others) > 0 {
			select {
			case <-ctx.Done():
				return nil, nil, &Interrupted{Cause: context.Cause(ctx), Total: len(cs)}
			case <-time.After(pollInterval(opts.Cache)):
			}
		}
	}
	return ids, sizes, nil
}

// withCheckpoint opens c for f and closes it.
func withCheckpoint(c Checkpoint, f func(*loader.Checkpoint) error) error {
	ck, err := sinkscope.OpenCheckpoint(c.Arg)
	if err != nil {
		return err
	}
	defer ck.Close()
	return f(ck)
}

// identify identifies an open checkpoint, with a progress bar over its
// tensors when they have to be hashed.
func identify(c Checkpoint, ck *loader.Checkpoint, cache Cache, log io.Writer, progress func(string, int) (func(), func())) (loader.Identity, error) {
	if id, ok := cache.Known(ck); ok {
		return id, nil
	}
	n := len(ck.Tensors.Names())
	fmt.Fprintf(log, "diff: %s: hashing %d tensors to identify it\n", c.Arg, n)
	step, done := progress(fmt.Sprintf("%s: hashing %d tensors", c.Arg, n), n)
	id, err := cache.Identify(ck, step)
	done()
	if err != nil {
		return loader.Identity{}, fmt.Errorf("%s: %w", c.Arg, err)
	}
	return id, nil
}

// tensorBytes is the size of a checkpoint's tensor data.
func tensorBytes(ck *loader.Checkpoint) int64 {
	var n int64
	for _, name := range ck.Tensors.Names() {
		if t, err := ck.Tensors.Get(name); err == nil {
			n += int64(len(t.Bytes()))
		}
	}
	return n
}

// compute fills out[i] for every i in todo from the cache or by running the
// analysis, under the checkpoint's lock when the cache is on.
func compute(ctx context.Context, cs []Checkpoint, ids []loader.Identity, todo []int, out []SeriesResult, src *Sources,
	digest string, opts SeriesOptions, log io.Writer, progress func(string, int) (func(), func())) error {
	warn := func(s string) { fmt.Fprintln(log, s) }
	done, total := 0, len(todo)
	waiting := map[int]bool{} // checkpoints whose lock a live worker holds, reported once
	for len(todo) > 0 {
		var later []int
		for _, i := range todo {
			if ctx.Err() != nil {
				return &Interrupted{Cause: context.Cause(ctx), Done: done, Total: total, NoCache: opts.Cache.Dir == ""}
			}
			c, key := cs[i], Key(ids[i], digest)
			tag := fmt.Sprintf("diff: [%d/%d] %s", i+1, len(cs), c.Arg)
			if r := opts.Cache.Load(key, ids[i], digest, log); r != nil {
				r.Label = c.Arg
				out[i].Status, out[i].Report = "cached", r
				fmt.Fprintf(log, "%s: cached (%s)\n", tag, opts.Cache.Path(key))
				done++
				continue
			}
			var lock *Lock
			if opts.Cache.Dir != "" {
				l, h, err := opts.Cache.TryLock(key, c.Arg, warn)
				if err != nil {
					return err
				}
				if l == nil {
					if !waiting[i] {
						fmt.Fprintf(log, "%s: being computed by %s; waiting for it\n", tag, h)
						waiting[i] = true
					}
					later = append(later, i)
					continue
				}
				lock = l
				// Finished by another worker between the look and the lock?
				if r := opts.Cache.Load(key, ids[i], digest, io.Discard); r != nil {
					lock.Unlock()
					r.Label = c.Arg
					out[i].Status, out[i].Report = "cached", r
					fmt.Fprintf(log, "%s: cached (%s)\n", tag, opts.Cache.Path(key))
					done++
					continue
				}
			}
			fmt.Fprintf(log, "%s: computing\n", tag)
			r, err := Run(c.Arg, opts.Threads, src, opts.Heads, progress)
			if err == nil {
				if serr := opts.Cache.Store(key, ids[i], digest, r); serr != nil && opts.Shard.Count > 0 {
					err = fmt.Errorf("%s: %w (a worker's results are its cache entries)", c.Arg, serr)
				} else if serr != nil {
					fmt.Fprintf(log, "sinkscope: warning: %v (results not cached)\n", serr)
				}
			}
			if lock != nil {
				if uerr := lock.Unlock(); uerr != nil {
					warn("sinkscope: warning: " + uerr.Error())
				}
			}
			if err != nil {
				return err
			}
			out[i].Status, out[i].Report = "computed", r
			fmt.Fprintf(log, "%s: computed\n", tag)
			done++
		}
		todo = later
		if len(todo) > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(pollInterval(opts.Cache)):
			}
		}
	}
	return nil
}

// pollInterval is how often a worker looks again at checkpoints that others
// hold.
func pollInterval(c Cache) time.Duration { return min(c.lockTimeout()/8, 5*time.Second) }

// Interrupted is the error of a series stopped between checkpoints (see
// SeriesOptions.Context): everything finished is in the cache.
type Interrupted struct {
	Cause       error // the context's cause, e.g. a *SignalError
	Done, Total int   // checkpoints finished of those this run had to do
	NoCache     bool  // the run kept no results
}

func (e *Interrupted) Error() string {
	if e.NoCache {
		return fmt.Sprintf("diff: %v: stopped after %d of %d checkpoints; without a cache nothing was kept: run again with a cache to be able to resume",
			e.Cause, e.Done, e.Total)
	}
	return fmt.Sprintf("diff: %v: stopped after %d of %d checkpoints; the cache holds every finished one: run the same command again to resume",
		e.Cause, e.Done, e.Total)
}

func (e *Interrupted) Unwrap() error { return e.Cause }

// MissingError is the error of a merge that found no results for some
// checkpoints.
type MissingError struct {
	Missing []Checkpoint
	Total   int
}

func (e *MissingError) Error() string {
	names := make([]string, len(e.Missing))
	for i, c := range e.Missing {
		names[i] = c.Arg
	}
	return fmt.Sprintf("diff --merge: %d of %d distinct checkpoints are not computed yet (run the workers until they finish): %s",
		len(e.Missing), e.Total, strings.Join(names, ", "))
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
