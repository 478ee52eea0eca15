package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Files of a checkpoint directory besides the weights.
const (
	ConfigFile    = "config.json"
	TokenizerFile = "tokenizer.json"
)

// Checkpoint is an opened model: its validated config and tensors.
type Checkpoint struct {
	Dir           string   // the checkpoint directory (for a cached model, its snapshot)
	Config        *Config  // config.json
	Tensors       *Tensors // the weights, mapped
	TokenizerPath string   // tokenizer.json, or "" if the directory has none

	tokenizerData []byte // tokenizer.json read from an fs.FS (OpenFS)
	configData    []byte // config.json's bytes, for Identify
}

// Open opens a model argument: a checkpoint directory, or "org/name[@revision]"
// in the Hugging Face cache (see Resolve). The config and every tensor header
// are validated, and the tensors the architecture needs are checked against
// the config's shapes, before Open returns.
func Open(arg string) (*Checkpoint, error) {
	dir, hint, err := resolve(arg)
	if err != nil {
		return nil, err
	}
	c, err := openSource(osSource{dir})
	if err != nil && hint != "" && errors.Is(err, fs.ErrNotExist) {
		err = fmt.Errorf("%w\n%s", err, hint)
	}
	return c, err
}

// OpenFS opens the checkpoint directory dir of fsys (e.g. an embedded
// checkpoint), reading its files into memory.
func OpenFS(fsys fs.FS, dir string) (*Checkpoint, error) {
	return openSource(fsSource{fsys, dir})
}

// Expect returns the named tensor if its shape is exactly shape; otherwise
// the error names the tensor, the expected and the actual shape.
func (c *Checkpoint) Expect(name string, shape ...int) (*Tensor, error) {
	t, err := c.Tensors.Get(name)
	if err != nil {
		return nil, err
	}
	if !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("loader: %s: tensor %q: expected shape %v, got %v", t.File, name, shape, t.Shape)
	}
	return t, nil
}

// Close releases the mapped weights.
func (c *Checkpoint) Close() error {
	if c.Tensors == nil {
		return nil
	}
	return c.Tensors.Close()
}

// source abstracts where a checkpoint's files live.
type source interface {
	path(name string) string                   // for messages and Checkpoint fields
	readFile(name string) ([]byte, error)      // whole small file
	exists(name string) bool                   // regular file present
	openTensors(name string) (*Tensors, error) // one safetensors file
	list() []string                            // directory entries, for messages
}

func openSource(src source) (*Checkpoint, error) {
	cfgPath := src.path(ConfigFile)
	data, err := src.readFile(ConfigFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("loader: %s: no %s (a checkpoint directory holds config.json and model.safetensors; found: %s): %w",
				src.path("."), ConfigFile, listing(src), fs.ErrNotExist)
		}
		return nil, fmt.Errorf("loader: %w", err)
	}
	cfg, err := ParseConfig(cfgPath, data)
	if err != nil {
		return nil, err
	}
	ts, err := openWeights(src)
	if err != nil {
		return nil, err
	}
	c := &Checkpoint{Dir: src.path("."), Config: cfg, Tensors: ts, configData: data}
	if src.exists(TokenizerFile) {
		switch s := src.(type) {
		case osSource:
			c.TokenizerPath = s.path(TokenizerFile)
		case fsSource:
			if c.tokenizerData, err = s.readFile(TokenizerFile); err != nil {
				ts.Close()
				return nil, fmt.Errorf("loader: %w", err)
			}
			c.TokenizerPath = s.path(TokenizerFile)
		}
	}
	return c, nil
}

// openWeights opens model.safetensors, or the shards of
// model.safetensors.index.json (the single file wins when both exist, as in
// transformers).
func openWeights(src source) (*Tensors, error) {
	if src.exists(WeightsFile) {
		return src.openTensors(WeightsFile)
	}
	if src.exists(IndexFile) {
		index, err := src.readFile(IndexFile)
		if err != nil {
			return nil, fmt.Errorf("loader: %w", err)
		}
		return openSharded(src.path(IndexFile), index, func(shard string) (*Tensors, error) {
			if !src.exists(shard) {
				return nil, fmt.Errorf("no file %s: %w", src.path(shard), fs.ErrNotExist)
			}
			return src.openTensors(shard)
		})
	}
	msg := fmt.Sprintf("loader: %s: no %s or %s (found: %s)", src.path("."), WeightsFile, IndexFile, listing(src))
	for _, f := range src.list() {
		if strings.HasSuffix(f, ".bin") || strings.HasSuffix(f, ".pt") || strings.HasSuffix(f, ".pth") {
			msg += "; sinkscope reads safetensors only (convert the PyTorch weights, e.g. with transformers' save_pretrained(safe_serialization=True))"
			break
		}
	}
	return nil, fmt.Errorf("%s: %w", msg, fs.ErrNotExist)
}

func listing(src source) string {
	l := src.list()
	if len(l) == 0 {
		return "nothing"
	}
	return strings.Join(limit(l, 12), ", ")
}

// osSource is a directory of the local file system.
type osSource struct{ dir string }

func (s osSource) path(name string) string {
	if name == "." {
		return s.dir
	}
	return filepath.Join(s.dir, filepath.FromSlash(name))
}
func (s osSource) readFile(name string) ([]byte, error)      { return os.ReadFile(s.path(name)) }
func (s osSource) openTensors(name string) (*Tensors, error) { return OpenSafetensors(s.path(name)) }
func (s osSource) exists(name string) bool {
	st, err := os.Stat(s.path(name)) // follows the HF cache's symlinks into blobs/
	return err == nil && st.Mode().IsRegular()
}
func (s osSource) list() []string {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// fsSource is a directory of an fs.FS; files are read into memory.
type fsSource struct {
	fsys fs.FS
	dir  string
}

func (s fsSource) path(name string) string              { return path.Join(s.dir, name) }
func (s fsSource) readFile(name string) ([]byte, error) { return fs.ReadFile(s.fsys, s.path(name)) }
func (s fsSource) openTensors(name string) (*Tensors, error) {
	data, err := s.readFile(name)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	return OpenSafetensorsBytes(s.path(name), data)
}
func (s fsSource) exists(name string) bool {
	st, err := fs.Stat(s.fsys, s.path(name))
	return err == nil && st.Mode().IsRegular()
}
func (s fsSource) list() []string {
	ents, err := fs.ReadDir(s.fsys, s.dir)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// limit keeps the first n strings of s, with "..." for the rest.
func limit(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}
