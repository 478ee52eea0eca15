package analysis

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
)

func testReport() *Report {
	return &Report{Label: "ck", Info: model.Info{Arch: "Toy", Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 4, DModel: 8, Vocab: 5},
		Domains: []DomainReport{{Name: "d", Items: 3, Result: metrics.DomainResult{NSeqs: 3, Loss: 1.25}}},
		Tokens:  map[int]string{0: "<s>"}}
}

func testID(s string) loader.Identity {
	sum := sha256.Sum256([]byte(s))
	return loader.Identity{Hash: hex.EncodeToString(sum[:]), How: loader.IdentityTensors}
}

// TestCacheEntries stores an entry and damages it in each way the cache
// must catch: every damaged entry is reported naming its file and ignored
// (nil), so that the caller recomputes it.
func TestCacheEntries(t *testing.T) {
	id, opts := testID("a"), "inputs"
	key := Key(id, opts)
	for _, c := range []struct {
		name   string
		damage func(b []byte) []byte
		id     loader.Identity
		opts   string
		want   string // in the warning; "" for a good entry
	}{
		{"good", func(b []byte) []byte { return b }, id, opts, ""},
		{"flipped payload byte", func(b []byte) []byte { b[len(b)-5] ^= 0x10; return b }, id, opts, "checksum mismatch"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-7] }, id, opts, "the header says"},
		{"flipped header byte", func(b []byte) []byte { b[len(entryMagic)+10] ^= 0x01; return b }, id, opts, "not trusted"},
		{"old version", func(b []byte) []byte { return append([]byte("sinkscope-results-v2\n"), b[len(entryMagic):]...) }, id, opts, "another version"},
		{"other checkpoint", func(b []byte) []byte { return b }, testID("b"), opts, "answers checkpoint identity"},
		{"other inputs", func(b []byte) []byte { return b }, id, "other", "answers other analysis inputs"},
		{"empty", func(b []byte) []byte { return nil }, id, opts, "not a sinkscope-results-v3 entry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cache := Cache{Dir: t.TempDir()}
			if err := cache.Store(key, id, opts, testReport()); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(cache.Path(key))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(cache.Path(key), c.damage(b), 0o644)
			var warn bytes.Buffer
			r := cache.Load(key, c.id, c.opts, &warn)
			if c.want == "" {
				if r == nil || r.Domains[0].Result.Loss != 1.25 || r.Tokens[0] != "<s>" || warn.Len() != 0 {
					t.Fatalf("good entry: report %v, warnings %q", r, warn.String())
				}
				return
			}
			if r != nil {
				t.Fatalf("damaged entry trusted: %+v", r)
			}
			if !strings.Contains(warn.String(), c.want) || !strings.Contains(warn.String(), cache.Path(key)) {
				t.Errorf("warning %q; want it to name %s and say %q", warn.String(), cache.Path(key), c.want)
			}
		})
	}
}

// TestCacheAlso reads from the further directories after Dir, and writes only
// to Dir.
func TestCacheAlso(t *testing.T) {
	id, opts := testID("a"), "x"
	key := Key(id, opts)
	other := Cache{Dir: t.TempDir()}
	if err := other.Store(key, id, opts, testReport()); err != nil {
		t.Fatal(err)
	}
	c := Cache{Dir: t.TempDir(), Also: []string{t.TempDir(), other.Dir}}
	if r := c.Load(key, id, opts, nil); r == nil {
		t.Fatal("entry in the second further directory not found")
	}
	if _, err := os.Stat(c.Path(key)); err == nil {
		t.Error("Load wrote to Dir")
	}
}

// FuzzCacheEntry feeds damaged entries to the decoder: no panic, and an
// entry it accepts encodes back to the same bytes. Each input is also
// tried as the payload of an entry with a valid header and checksum, so
// that the gob decoder behind the checksum meets arbitrary bytes too.
func FuzzCacheEntry(f *testing.F) {
	id := testID("a")
	good, err := encodeEntry(entry{Key: Key(id, "o"), Identity: id.Hash, Inputs: inputsHash("o"), Label: "ck \"x\"", Report: *testReport()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte(entryMagic + "key 00\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		if e, err := decodeEntry(data); err == nil {
			again, err := encodeEntry(e)
			if err != nil {
				t.Fatalf("accepted entry does not encode: %v", err)
			}
			if _, err := decodeEntry(again); err != nil {
				t.Fatalf("re-encoded entry does not decode: %v", err)
			}
		}
		sum := sha256.Sum256(data)
		wrapped := fmt.Appendf(nil, "%skey %s\nidentity %s\ninputs %s\nlabel \"x\"\npayload %d sha256 %s\n",
			entryMagic, id.Hash, id.Hash, id.Hash, len(data), hex.EncodeToString(sum[:]))
		decodeEntry(append(wrapped, data...))
	})
}

func TestCacheEntryFile(t *testing.T) {
	// The entry's name is its key: a file copied under another key's name
	// is not trusted.
	id, opts := testID("a"), "o"
	c := Cache{Dir: t.TempDir()}
	if err := c.Store(Key(id, opts), id, opts, testReport()); err != nil {
		t.Fatal(err)
	}
	other := Key(id, "p")
	os.Rename(c.Path(Key(id, opts)), filepath.Join(c.Dir, other+".gob"))
	var warn bytes.Buffer
	if r := c.Load(other, id, "p", &warn); r != nil || !strings.Contains(warn.String(), "holds the entry of key") {
		t.Errorf("renamed entry: report %v, warning %q", r, warn.String())
	}
}
