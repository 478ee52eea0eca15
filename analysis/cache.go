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
	"strconv"
	"strings"
	"time"

	"github.com/sinkscope/sinkscope/internal/atomicfile"
	"github.com/sinkscope/sinkscope/loader"
)

// cacheVersion names the layout of cache entries and the analysis that
// fills them; changing either must change it, so that old entries are not
// reused.
const cacheVersion = "sinkscope-results-v3"

// Cache keeps one Report per checkpoint identity and analysis inputs in a
// directory, so that an interrupted series resumes where it stopped and
// workers sharing the directory (see Lock) share their results. Entries are
// written atomically and carry a checksum and the inputs they answer (see
// encodeEntry): an entry that fails either check is reported and ignored, so
// that it is recomputed. The zero Cache (Dir "") keeps nothing.
type Cache struct {
	Dir string
	// Also are further directories results are read from, after Dir (for
	// merging the caches of workers that did not share one); nothing is
	// written there.
	Also []string
	// LockTimeout is how long a lock without a heartbeat is honoured (see
	// Lock); 0 means DefaultLockTimeout.
	LockTimeout time.Duration
}

// entry is what the cache keeps of one analysis.
type entry struct {
	Key      string // the entry's cache key (its file name)
	Identity string // the checkpoint's identity hash
	Inputs   string // sha256 of the analysis inputs' digest
	Label    string // the checkpoint it was computed for, for messages
	Report   Report
}

// entryMagic starts every cache entry file.
const entryMagic = cacheVersion + "\n"

// Path is where the entry for key lives.
func (c Cache) Path(key string) string { return filepath.Join(c.Dir, key+".gob") }

// Key is the cache key of the analysis of the checkpoint with identity id
// under options digest opts.
func Key(id loader.Identity, opts string) string {
	sum := sha256.Sum256([]byte(cacheVersion + "\x00" + id.Hash + "\x00" + opts))
	return hex.EncodeToString(sum[:])
}

// inputsHash is what an entry records of the options digest.
func inputsHash(opts string) string {
	sum := sha256.Sum256([]byte(opts))
	return hex.EncodeToString(sum[:])
}

// encodeEntry lays an entry out as a text header, one field per line, and
// the gob-encoded report:
//
//	sinkscope-results-v3
//	key <hex>
//	identity <hex>
//	inputs <hex>
//	label <Go-quoted string>
//	payload <bytes> sha256 <hex of the payload>
//	<payload>
func encodeEntry(e entry) ([]byte, error) {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(e.Report); err != nil {
		return nil, fmt.Errorf("encoding the results of %s: %w", e.Label, err)
	}
	sum := sha256.Sum256(payload.Bytes())
	var b bytes.Buffer
	fmt.Fprintf(&b, "%skey %s\nidentity %s\ninputs %s\nlabel %s\npayload %d sha256 %s\n",
		entryMagic, e.Key, e.Identity, e.Inputs, strconv.Quote(e.Label), payload.Len(), hex.EncodeToString(sum[:]))
	b.Write(payload.Bytes())
	return b.Bytes(), nil
}

// maxPayload bounds the report of one entry (a 7B model's report over a few
// domains is well under a megabyte).
const maxPayload = 1 << 30

// decodeEntry reads an entry written by encodeEntry, checking its layout,
// its hashes' form and the payload's length and checksum before decoding it.
func decodeEntry(b []byte) (entry, error) {
	var e entry
	rest, ok := bytes.CutPrefix(b, []byte(entryMagic))
	if !ok {
		return e, errors.New("not a " + cacheVersion + " entry (another version, or damaged)")
	}
	field := func(name string) (string, error) {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok || len(line) > 4096 {
			return "", fmt.Errorf("header ends before field %q", name)
		}
		v, ok := bytes.CutPrefix(line, []byte(name+" "))
		if !ok {
			return "", fmt.Errorf("header: want field %q, found %.40q", name, line)
		}
		rest = after
		return string(v), nil
	}
	hash := func(name string) (string, error) {
		v, err := field(name)
		if err != nil {
			return "", err
		}
		if _, err := hex.DecodeString(v); err != nil || len(v) != 2*sha256.Size || strings.ToLower(v) != v {
			return "", fmt.Errorf("header: %s %.80q is not a lower-case hex sha256", name, v)
		}
		return v, nil
	}
	var err error
	if e.Key, err = hash("key"); err != nil {
		return e, err
	}
	if e.Identity, err = hash("identity"); err != nil {
		return e, err
	}
	if e.Inputs, err = hash("inputs"); err != nil {
		return e, err
	}
	q, err := field("label")
	if err != nil {
		return e, err
	}
	if e.Label, err = strconv.Unquote(q); err != nil {
		return e, fmt.Errorf("header: label %.80s is not a quoted string", q)
	}
	p, err := field("payload")
	if err != nil {
		return e, err
	}
	var n int
	var sum string
	if _, err := fmt.Sscanf(p, "%d sha256 %s", &n, &sum); err != nil || n < 0 || n > maxPayload || fmt.Sprintf("%d sha256 %s", n, sum) != p {
		return e, fmt.Errorf("header: payload %.80q: want \"<bytes> sha256 <hex>\"", p)
	}
	if len(rest) != n {
		return e, fmt.Errorf("payload is %d bytes, the header says %d (truncated or damaged)", len(rest), n)
	}
	got := sha256.Sum256(rest)
	if hex.EncodeToString(got[:]) != sum {
		return e, fmt.Errorf("checksum mismatch: payload sha256 %s, the header says %s", hex.EncodeToString(got[:12]), sum[:min(len(sum), 24)])
	}
	if err := gob.NewDecoder(bytes.NewReader(rest)).Decode(&e.Report); err != nil {
		return e, fmt.Errorf("decoding the payload: %w", err)
	}
	return e, nil
}

// Load returns the report stored under key for the checkpoint with identity
// id and options digest opts, from Dir or else from the first of Also that
// has it; nil when there is none (or the cache is off). An entry that is
// damaged, fails its checksum or answers other inputs is reported to warn
// and ignored, so that it is recomputed.
func (c Cache) Load(key string, id loader.Identity, opts string, warn io.Writer) *Report {
	if c.Dir == "" {
		return nil
	}
	for _, dir := range append([]string{c.Dir}, c.Also...) {
		p := filepath.Join(dir, key+".gob")
		b, err := os.ReadFile(p)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(warn, "sinkscope: warning: diff cache: %v (recomputing)\n", err)
			}
			continue
		}
		e, err := decodeEntry(b)
		if err == nil {
			switch {
			case e.Key != key:
				err = fmt.Errorf("it holds the entry of key %s…", e.Key[:12])
			case e.Identity != id.Hash:
				err = fmt.Errorf("it answers checkpoint identity %s…, not %s…", e.Identity[:12], id.Hash[:12])
			case e.Inputs != inputsHash(opts):
				err = fmt.Errorf("it answers other analysis inputs (sha256 %s…)", e.Inputs[:12])
			}
		}
		if err != nil {
			fmt.Fprintf(warn, "sinkscope: warning: diff cache: %s: %v; not trusted (recomputing)\n", p, err)
			continue
		}
		return &e.Report
	}
	return nil
}

// Store writes r under key atomically, recording the identity and inputs it
// answers.
func (c Cache) Store(key string, id loader.Identity, opts string, r *Report) error {
	if c.Dir == "" {
		return nil
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return fmt.Errorf("diff cache: %w", err)
	}
	b, err := encodeEntry(entry{Key: key, Identity: id.Hash, Inputs: inputsHash(opts), Label: r.Label, Report: *r})
	if err != nil {
		return fmt.Errorf("diff cache: %w", err)
	}
	if err := atomicfile.WriteFile(c.Path(key), b); err != nil {
		return fmt.Errorf("diff cache: %w", err)
	}
	return nil
}

// Identify is loader.Identify with a memo in the cache for checkpoints whose
// tensors had to be read: when config.json and every weights file have the
// same absolute path, size and modification time as when they were last
// hashed, the recorded identity is used and nothing is read (file metadata
// trusted as make and git trust it). The memo lives in Dir/ids/, so workers
// sharing the cache share it.
func (c Cache) Identify(ck *loader.Checkpoint, step func()) (loader.Identity, error) {
	if id, ok := c.Known(ck); ok {
		return id, nil
	}
	id, err := loader.Identify(ck, step)
	if err != nil || id.How != loader.IdentityTensors {
		return id, err
	}
	if memo, ok := c.memo(ck); ok && os.MkdirAll(filepath.Dir(memo), 0o755) == nil {
		atomicfile.WriteFile(memo, []byte(id.How+" "+id.Hash)) // a memo that cannot be written only costs a rehash
	}
	return id, nil
}

// Known returns the identity of ck when it costs no reading of tensors: the
// hub's blob hashes of a Hugging Face cache snapshot, or the memo of an
// earlier Identify (by this worker or another sharing the cache, in Dir or
// one of Also).
func (c Cache) Known(ck *loader.Checkpoint) (loader.Identity, bool) {
	if loader.HubIdentified(ck) {
		id, err := loader.Identify(ck, nil)
		return id, err == nil
	}
	memo, ok := c.memo(ck)
	if !ok {
		return loader.Identity{}, false
	}
	for _, dir := range append([]string{c.Dir}, c.Also...) {
		b, err := os.ReadFile(filepath.Join(dir, "ids", filepath.Base(memo)))
		if err != nil {
			continue
		}
		if id, ok := strings.CutPrefix(string(b), loader.IdentityTensors+" "); ok && len(id) == 2*sha256.Size {
			if _, err := hex.DecodeString(id); err == nil {
				return loader.Identity{Hash: id, How: loader.IdentityTensors}, true
			}
		}
	}
	return loader.Identity{}, false
}

// memo is the path of ck's identity memo, named by a hash of its files'
// absolute paths, sizes and modification times.
func (c Cache) memo(ck *loader.Checkpoint) (string, bool) {
	if c.Dir == "" {
		return "", false
	}
	h := sha256.New()
	loader.WriteField(h, cacheVersion)
	for _, f := range append([]string{filepath.Join(ck.Dir, loader.ConfigFile)}, ck.Tensors.Files()...) {
		abs, err := filepath.Abs(f)
		if err != nil {
			return "", false
		}
		st, err := os.Stat(abs)
		if err != nil {
			return "", false
		}
		loader.WriteField(h, fmt.Sprintf("%s %d %d", abs, st.Size(), st.ModTime().UnixNano()))
	}
	return filepath.Join(c.Dir, "ids", hex.EncodeToString(h.Sum(nil))), true
}
