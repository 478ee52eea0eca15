package loader

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sinkscope/sinkscope/internal/fault"
)

// identityVersion names how an Identity is computed; changing the method must
// change it.
const identityVersion = "sinkscope-checkpoint-identity-v1"

// Identity says what a checkpoint is, independently of its name and of how
// its tensors are sharded.
type Identity struct {
	Hash string // hex sha256 of config.json and every tensor
	How  string // IdentityTensors or IdentityHubBlobs
}

// How an Identity was computed.
const (
	IdentityTensors  = "tensor data"     // every tensor's bytes were hashed
	IdentityHubBlobs = "hub blob hashes" // the hashes the hub computed were used
)

// Identify hashes an open checkpoint: config.json's bytes, then per tensor in
// name order its name, dtype, shape and stored bytes (sha256 per tensor,
// tensors spread over the cores). Two checkpoints with the same identity hold
// the same weights and configuration whatever their names; safetensors
// headers and file sizes follow from the tensors, so another sharding of the
// same tensors has the same identity.
//
// A Hugging Face cache snapshot links each file to blobs/<sha256 of the
// file>, which the hub computed at upload: when every weights file is such a
// link, those hashes stand for the tensor data and nothing is read.
//
// step, when not nil, is called after each tensor is hashed (from any
// goroutine, one call at a time).
func Identify(ck *Checkpoint, step func()) (id Identity, err error) {
	defer fault.Guard()()
	defer fault.Recover(&err, ck.Tensors.Describe)
	if ck.configData == nil {
		return Identity{}, fmt.Errorf("loader: identifying %s: the checkpoint was not opened by this package", ck.Dir)
	}
	h := sha256.New()
	WriteField(h, identityVersion)
	WriteField(h, string(ck.configData))
	if blobs, ok := hubBlobs(ck.Tensors.Files()); ok {
		WriteField(h, "hub-blobs")
		for _, b := range blobs {
			WriteField(h, b)
		}
		return Identity{Hash: hex.EncodeToString(h.Sum(nil)), How: IdentityHubBlobs}, nil
	}
	WriteField(h, "tensors")
	names := ck.Tensors.Names()
	sums := make([][sha256.Size]byte, len(names))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var relay fault.Relay
	var next atomic.Int64
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		wg.Go(func() {
			defer relay.Catch()
			fault.Enable()
			for i := int(next.Add(1) - 1); i < len(names); i = int(next.Add(1) - 1) {
				if t, err := ck.Tensors.Get(names[i]); err == nil {
					sums[i] = sha256.Sum256(t.Bytes())
				}
				if step != nil {
					mu.Lock()
					step()
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	relay.Rethrow()
	for i, name := range names {
		t, err := ck.Tensors.Get(name)
		if err != nil {
			return Identity{}, err
		}
		WriteField(h, name)
		WriteField(h, fmt.Sprintf("%v %v", t.DType, t.Shape))
		h.Write(sums[i][:])
	}
	return Identity{Hash: hex.EncodeToString(h.Sum(nil)), How: IdentityTensors}, nil
}

// HubIdentified reports whether Identify takes ck's identity from the hub's
// blob hashes, reading no tensor.
func HubIdentified(ck *Checkpoint) bool {
	_, ok := hubBlobs(ck.Tensors.Files())
	return ok
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

// WriteField writes s to a hash length-prefixed, so that fields cannot run
// together.
func WriteField(w io.Writer, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	w.Write(n[:])
	io.WriteString(w, s)
}
