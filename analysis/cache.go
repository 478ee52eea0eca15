package analysis

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/loader"
)

// cacheVersion names the layout of cache entries and the analysis that
// fills them; changing either must change it, so that old entries are not
// reused.
const cacheVersion = "sinkscope-results-v2"

// Cache keeps one Report per checkpoint identity and analysis inputs in a
// directory, so that an interrupted series resumes where it stopped. Entries
// are gob files written atomically. The zero Cache (Dir "") keeps nothing.
type Cache struct{ Dir string }

// entry is what the cache keeps of one analysis.
type entry struct {
	Version string
	Key     string
	Report  Report
}

// Path is where the entry for key lives.
func (c Cache) Path(key string) string { return filepath.Join(c.Dir, key+".gob") }

// Key is the cache key of the analysis of the checkpoint with identity id
// under options digest opts.
func Key(id loader.Identity, opts string) string {
	sum := sha256.Sum256([]byte(cacheVersion + "\x00" + id.Hash + "\x00" + opts))
	return hex.EncodeToString(sum[:])
}

// Load returns the report stored under key, or nil when there is none (or
// the cache is off). A damaged entry is reported to warn and ignored.
func (c Cache) Load(key string, warn io.Writer) *Report {
	if c.Dir == "" {
		return nil
	}
	b, err := os.ReadFile(c.Path(key))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(warn, "sinkscope: warning: diff cache: %v (recomputing)\n", err)
		}
		return nil
	}
	var e entry
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&e); err != nil || e.Version != cacheVersion || e.Key != key {
		fmt.Fprintf(warn, "sinkscope: warning: diff cache: %s is damaged or from another version (recomputing)\n", c.Path(key))
		return nil
	}
	return &e.Report
}

// Store writes r under key atomically.
func (c Cache) Store(key string, r *Report) error {
	if c.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("diff cache: %w", err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(entry{Version: cacheVersion, Key: key, Report: *r}); err != nil {
		return fmt.Errorf("diff cache: encoding %s: %w", key, err)
	}
	if err := atomicfile.WriteFile(c.Path(key), buf.Bytes()); err != nil {
		return fmt.Errorf("diff cache: %w", err)
	}
	return nil
}

// Identify is loader.Identify with a memo in the cache for checkpoints whose
// tensors had to be read: when config.json and every weights file have the
// same absolute path, size and modification time as when they were last
// hashed, the recorded identity is used and nothing is read (file metadata
// trusted as make and git trust it). The memo lives in Dir/ids/.
func (c Cache) Identify(ck *loader.Checkpoint, step func()) (loader.Identity, error) {
	if c.Dir == "" {
		return loader.Identify(ck, step)
	}
	h := sha256.New()
	loader.WriteField(h, cacheVersion)
	for _, f := range append([]string{filepath.Join(ck.Dir, loader.ConfigFile)}, ck.Tensors.Files()...) {
		abs, err := filepath.Abs(f)
		if err != nil {
			return loader.Identify(ck, step)
		}
		st, err := os.Stat(abs)
		if err != nil {
			return loader.Identify(ck, step)
		}
		loader.WriteField(h, fmt.Sprintf("%s %d %d", abs, st.Size(), st.ModTime().UnixNano()))
	}
	memo := filepath.Join(c.Dir, "ids", hex.EncodeToString(h.Sum(nil)))
	if b, err := os.ReadFile(memo); err == nil {
		if id, ok := strings.CutPrefix(string(b), loader.IdentityTensors+" "); ok && len(id) == 2*sha256.Size {
			return loader.Identity{Hash: id, How: loader.IdentityTensors}, nil
		}
	}
	id, err := loader.Identify(ck, step)
	if err != nil || id.How != loader.IdentityTensors {
		return id, err
	}
	if os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
		atomicfile.WriteFile(memo, []byte(id.How+" "+id.Hash)) // a memo that cannot be written only costs a rehash
	}
	return id, nil
}
