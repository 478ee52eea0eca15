package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
)

// diffCacheVersion names the layout of cache entries and the analysis that
// fills them; changing either must change it so old entries are not reused.
const diffCacheVersion = "sinkscope-diff-cache-v1"

// checkpointIdentity says what a checkpoint is, independently of its name.
type checkpointIdentity struct {
	id  string // hex sha256 of config.json and every tensor
	how string // "tensor data" or "hub blob hashes"
}

// identify hashes an open checkpoint: config.json's bytes, then per tensor in
// name order its name, dtype, shape and stored bytes (sha256 per tensor,
// tensors spread over the cores). Two checkpoints with the same identity hold
// the same weights and configuration whatever their names; safetensors
// headers and file sizes follow from the tensors, so a different layout of the
// same tensors (another sharding) has the same identity.
//
// A Hugging Face cache snapshot links each file to blobs/<sha256 of the
// file>, which the hub computed at upload: when every weights file is such a
// link, those hashes stand for the tensor data and nothing is read.
//
// step, when not nil, is called after each tensor is hashed (from any
// goroutine, one call at a time).
func identify(ck *loader.Checkpoint, step func()) (checkpointIdentity, error) {
	cfg, err := os.ReadFile(filepath.Join(ck.Dir, loader.ConfigFile))
	if err != nil {
		return checkpointIdentity{}, fmt.Errorf("diff: %w", err)
	}
	h := sha256.New()
	writeField(h, diffCacheVersion)
	writeField(h, string(cfg))
	if blobs, ok := hubBlobs(ck.Tensors.Files()); ok {
		writeField(h, "hub-blobs")
		for _, b := range blobs {
			writeField(h, b)
		}
		return checkpointIdentity{id: hex.EncodeToString(h.Sum(nil)), how: "hub blob hashes"}, nil
	}
	writeField(h, "tensors")
	names := ck.Tensors.Names()
	sums := make([][sha256.Size]byte, len(names))
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if t, err := ck.Tensors.Get(names[i]); err == nil {
					sums[i] = sha256.Sum256(t.Bytes())
				}
				if step != nil {
					mu.Lock()
					step()
					mu.Unlock()
				}
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, name := range names {
		t, err := ck.Tensors.Get(name)
		if err != nil {
			return checkpointIdentity{}, err
		}
		writeField(h, name)
		writeField(h, fmt.Sprintf("%v %v", t.DType, t.Shape))
		h.Write(sums[i][:])
	}
	return checkpointIdentity{id: hex.EncodeToString(h.Sum(nil)), how: "tensor data"}, nil
}

// identify is the package-level identify with a memo in the cache for
// checkpoints whose tensors had to be read: when config.json and every
// weights file have the same absolute path, size and modification time as
// when they were last hashed, the recorded identity is used and nothing is
// read (file metadata trusted as make and git trust it). The memo lives in
// dir/ids/.
func (c diffCache) identify(ck *loader.Checkpoint, step func()) (checkpointIdentity, error) {
	if c.dir == "" {
		return identify(ck, step)
	}
	h := sha256.New()
	writeField(h, diffCacheVersion)
	for _, f := range append([]string{filepath.Join(ck.Dir, loader.ConfigFile)}, ck.Tensors.Files()...) {
		abs, err := filepath.Abs(f)
		if err != nil {
			return identify(ck, step)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return identify(ck, step)
		}
		writeField(h, fmt.Sprintf("%s %d %d", abs, st.Size(), st.ModTime().UnixNano()))
	}
	memo := filepath.Join(c.dir, "ids", hex.EncodeToString(h.Sum(nil)))
	if b, err := os.ReadFile(memo); err == nil {
		if id, ok := strings.CutPrefix(string(b), "tensor data "); ok && len(id) == 2*sha256.Size {
			return checkpointIdentity{id: id, how: "tensor data"}, nil
		}
	}
	id, err := identify(ck, step)
	if err != nil || id.how != "tensor data" {
		return id, err
	}
	if os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
		atomicfile.WriteFile(memo, []byte(id.how+" "+id.id)) // a memo that cannot be written only costs a rehash
	}
	return id, nil
}

// hubBlobs returns, for files that are all links into a Hugging Face cache's
// blobs/ directory under sha256 names, "basename=blob" per file.
func hubBlobs(files []string) ([]string, bool) {
	if len(files) == 0 {
		return nil, false
	}
	var out []string
	for _, f := range files {
		target, err := os.Readlink(f)
		if err != nil || filepath.Base(filepath.Dir(target)) != "blobs" {
			return nil, false
		}
		b := filepath.Base(target)
		if _, err := hex.DecodeString(b); err != nil || len(b) != 2*sha256.Size {
			return nil, false
		}
		out = append(out, filepath.Base(f)+"="+b)
	}
	return out, true
}

// writeField writes s length-prefixed, so that fields cannot run together.
func writeField(w io.Writer, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	w.Write(n[:])
	io.WriteString(w, s)
}

// optionsHash hashes everything besides the checkpoint that the analysis
// results depend on: the inputs (every domain's items, or the built-in
// domains' when none are given) and the flags that shape them. The
// classification flags are not included: classes are recomputed from the
// cached statistics.
func optionsHash(f *headsFlags, srcs []source) (string, error) {
	h := sha256.New()
	writeField(h, diffCacheVersion)
	in := &f.in
	writeField(h, fmt.Sprintf("bos=%s seq-len=%d max-seqs=%d seed=%d ablate=%s", in.bos, in.seqLen, in.maxSeqs, in.seed, f.ablate))
	if len(srcs) == 0 {
		writeField(h, "default domains")
		var err error
		if srcs, err = defaultSources(); err != nil {
			return "", err
		}
	}
	for _, s := range srcs {
		writeField(h, fmt.Sprintf("domain %q input=%v items=%d sha256=%s", s.name, s.input, s.src.Len(), s.src.Digest()))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cachedRun is what the cache keeps of one checkpoint's analysis: enough to
// print its rows and summary again (classes are recomputed).
type cachedRun struct {
	Version string
	Key     string
	Info    model.Info
	Domains []cachedDomain
}

type cachedDomain struct {
	Name, Note, First string
	Items, Skipped    int
	Result            metrics.DomainResult
}

func toCached(key string, run *modelRun) *cachedRun {
	c := &cachedRun{Version: diffCacheVersion, Key: key, Info: run.info}
	for j, d := range run.domains {
		c.Domains = append(c.Domains, cachedDomain{Name: d.name, Note: d.note, First: run.first[j],
			Items: d.items, Skipped: d.skipped, Result: run.results[j]})
	}
	return c
}

// modelRun rebuilds the analysis under a label, classified by cl.
func (c *cachedRun) modelRun(label string, cl metrics.Classifier) *modelRun {
	run := &modelRun{label: label, info: c.Info}
	for _, d := range c.Domains {
		run.domains = append(run.domains, domainSet{name: d.Name, note: d.Note, items: d.Items, skipped: d.Skipped})
		run.results = append(run.results, d.Result)
		run.first = append(run.first, d.First)
		run.classes = append(run.classes, cl.Classify(&d.Result))
	}
	return run
}

// diffCache stores cachedRuns as gob files named by key in dir ("" = off).
type diffCache struct{ dir string }

func (c diffCache) path(key string) string { return filepath.Join(c.dir, key+".gob") }

// load returns the entry for key, or nil when there is none (or the cache is
// off). A damaged entry is reported and ignored.
func (c diffCache) load(key string, warn io.Writer) *cachedRun {
	if c.dir == "" {
		return nil
	}
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(warn, "sinkscope: warning: diff cache: %v (recomputing)\n", err)
		}
		return nil
	}
	var e cachedRun
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&e); err != nil || e.Version != diffCacheVersion || e.Key != key {
		fmt.Fprintf(warn, "sinkscope: warning: diff cache: %s is damaged or from another version (recomputing)\n", c.path(key))
		return nil
	}
	return &e
}

// store writes the entry atomically.
func (c diffCache) store(e *cachedRun) error {
	if c.dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return fmt.Errorf("diff cache: %w", err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(e); err != nil {
		return fmt.Errorf("diff cache: encoding %s: %w", e.Key, err)
	}
	if err := atomicfile.WriteFile(c.path(e.Key), buf.Bytes()); err != nil {
		return fmt.Errorf("diff cache: %w", err)
	}
	return nil
}
