package transformer

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
)

// Shape is a decoder's sizes, as a family reads them from config.json.
type Shape struct {
	Layers, Heads, KVHeads, HeadDim int
	DModel, Intermediate, Vocab     int
	MaxPositions                    int // 0: unbounded
}

// FieldError is a config.json problem, naming the checkpoint's file and the
// field.
func FieldError(ck *loader.Checkpoint, field, format string, args ...any) error {
	return fmt.Errorf("%s: field %q: %s", filepath.Join(ck.Dir, loader.ConfigFile), field, fmt.Sprintf(format, args...))
}

// ConfigError wraps an error of a loader.Fields reader with the file name.
func ConfigError(ck *loader.Checkpoint, err error) error {
	return fmt.Errorf("%s: %w", filepath.Join(ck.Dir, loader.ConfigFile), err)
}

// StandardShape reads the sizes under the names most Hugging Face configs
// use (hidden_size, intermediate_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads, head_dim, vocab_size,
// max_position_embeddings); each of the first five is required.
func StandardShape(ck *loader.Checkpoint) (Shape, error) {
	c := ck.Config
	for _, f := range []struct {
		name string
		v    int
	}{
		{"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize}, {"num_hidden_layers", c.NumLayers},
		{"num_attention_heads", c.NumHeads}, {"vocab_size", c.VocabSize},
	} {
		if f.v <= 0 {
			return Shape{}, FieldError(ck, f.name, "missing; %s needs it", c.Architecture)
		}
	}
	return Shape{
		Layers: c.NumLayers, Heads: c.NumHeads, KVHeads: c.NumKVHeads, HeadDim: c.HeadDim,
		DModel: c.HiddenSize, Intermediate: c.IntermediateSize, Vocab: c.VocabSize, MaxPositions: c.MaxPositionEmbeddings,
	}, nil
}

// Summary names the sizes, for shape errors.
func (s Shape) Summary() string {
	return fmt.Sprintf("hidden_size=%d, intermediate_size=%d, num_attention_heads=%d, num_key_value_heads=%d, head_dim=%d, vocab_size=%d",
		s.DModel, s.Intermediate, s.Heads, s.KVHeads, s.HeadDim, s.Vocab)
}

// Info is the model.Info of a decoder of this shape.
func (s Shape) Info(arch string) model.Info {
	return model.Info{Arch: arch, Layers: s.Layers, Heads: s.Heads, KVHeads: s.KVHeads, HeadDim: s.HeadDim,
		DModel: s.DModel, MLPWidth: s.Intermediate, Vocab: s.Vocab, MaxSeqLen: s.MaxPositions}
}

// NewDecoder returns a Decoder of shape s with its layers allocated.
func NewDecoder(arch string, s Shape) *Decoder {
	return &Decoder{Dims: s.Info(arch), Layers: make([]Layer, s.Layers)}
}

// readFloat reads a positive float field, def when absent.
func readFloat(ck *loader.Checkpoint, name string, def float64) (float64, error) {
	v, present, err := ck.Config.Fields().Float(name)
	switch {
	case err != nil:
		return 0, ConfigError(ck, err)
	case !present:
		return def, nil
	case !(v > 0):
		return 0, FieldError(ck, name, "%v: want a positive number", v)
	}
	return v, nil
}

// readBool reads a boolean field, def when absent.
func readBool(ck *loader.Checkpoint, name string, def bool) (bool, error) {
	v, present, err := ck.Config.Fields().Bool(name)
	if err != nil {
		return false, ConfigError(ck, err)
	}
	if !present {
		return def, nil
	}
	return v, nil
}

// readAct reads the activation named by the first present field of names,
// def when none is.
func readAct(ck *loader.Checkpoint, def string, names ...string) (Activation, error) {
	for _, name := range names {
		v, present, err := ck.Config.Fields().String(name)
		if err != nil {
			return 0, ConfigError(ck, err)
		}
		if present {
			a, err := ParseActivation(v)
			if err != nil {
				return 0, FieldError(ck, name, "%v", err)
			}
			return a, nil
		}
	}
	return ParseActivation(def)
}

// Tied reports whether the output projection shares the embedding:
// tie_word_embeddings, or def (the config class's default) when absent.
func Tied(ck *loader.Checkpoint, def bool) bool {
	if !ck.Config.Present("tie_word_embeddings") {
		return def
	}
	return ck.Config.TieWordEmbeddings
}

// SlidingLayers says which layers use the sliding window: config.json's
// explicit layer_types ("sliding_attention" / "full_attention") when present,
// as Hugging Face honours it, otherwise the family's derived pattern.
func SlidingLayers(ck *loader.Checkpoint, n int, derived func(layer int) bool) ([]bool, error) {
	out := make([]bool, n)
	raw, ok := ck.Config.Fields().Get("layer_types")
	if !ok {
		for i := range out {
			out[i] = derived(i)
		}
		return out, nil
	}
	var types []string
	if err := json.Unmarshal(raw, &types); err != nil {
		return nil, FieldError(ck, "layer_types", "want a list of strings")
	}
	if len(types) != n {
		return nil, FieldError(ck, "layer_types", "%d entries for %d layers", len(types), n)
	}
	for i, t := range types {
		switch t {
		case "sliding_attention":
			out[i] = true
		case "full_attention":
		default:
			return nil, FieldError(ck, "layer_types", "entry %d is %q; want \"sliding_attention\" or \"full_attention\"", i, t)
		}
	}
	return out, nil
}

// NewRope builds a rotary embedding of the first dims dimensions of each
// head with base theta and an optional scaling (default, linear, llama3).
func NewRope(ck *loader.Checkpoint, dims int, theta float64, s *kernels.RopeScaling) (*Rope, error) {
	if dims <= 0 || dims%2 != 0 {
		return nil, FieldError(ck, "head_dim", "%d rotary dimensions; rotary embeddings need an even, positive number", dims)
	}
	if err := s.Validate(); err != nil {
		return nil, FieldError(ck, "rope_scaling", "%v", err)
	}
	r := &Rope{Dims: dims, InvFreq: kernels.RopeInvFreq(dims, theta, s), Theta: theta}
	if s != nil && s.Type != "" && s.Type != "default" {
		r.Scaling = fmt.Sprintf("%s ×%g", s.Type, s.Factor)
	}
	return r, nil
}

// CheckHeads validates the head layout (positive sizes, KV heads dividing
// the query heads) and that no size exceeds what the checkpoint could hold,
// before anything is allocated from them: a config.json is untrusted input.
func (s Shape) CheckHeads(ck *loader.Checkpoint) error {
	var largest int64
	names := ck.Tensors.Names()
	for _, n := range names {
		if t, err := ck.Tensors.Get(n); err == nil {
			largest = max(largest, int64(t.Len()))
		}
	}
	for _, x := range []struct {
		field string
		v     int64
	}{
		{"num_hidden_layers", int64(s.Layers)}, {"hidden_size", int64(s.DModel)}, {"intermediate_size", int64(s.Intermediate)},
		{"vocab_size", int64(s.Vocab)}, {"num_attention_heads", int64(s.Heads) * int64(s.HeadDim)},
		{"num_key_value_heads", int64(s.KVHeads) * int64(s.HeadDim)},
	} {
		if x.v > largest {
			return FieldError(ck, x.field, "implies a size of %d, larger than any tensor of the checkpoint (%d elements)", x.v, largest)
		}
	}
	if s.Layers > len(names) {
		return FieldError(ck, "num_hidden_layers", "%d layers, but the checkpoint holds %d tensors", s.Layers, len(names))
	}
	switch {
	case s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0:
		return FieldError(ck, "num_attention_heads", "%d heads, %d KV heads, head_dim %d: all must be positive", s.Heads, s.KVHeads, s.HeadDim)
	case s.Heads%s.KVHeads != 0:
		return FieldError(ck, "num_key_value_heads", "%d does not divide num_attention_heads %d", s.KVHeads, s.Heads)
	}
	return nil
}

// DefaultTokens sets the BOS and EOS ids that the family's config class
// assumes when config.json leaves the fields out (not when it sets null).
func DefaultTokens(ck *loader.Checkpoint, bos, eos int) {
	if _, ok := ck.Config.Raw["bos_token_id"]; !ok {
		ck.Config.BOSTokenID = bos
	}
	if _, ok := ck.Config.Raw["eos_token_id"]; !ok {
		ck.Config.EOSTokenID = eos
	}
}

// Reader reads a family's config.json fields, each with the default its
// config class uses; the first error sticks, so a family states its config
// as a list of reads followed by one check of Err.
type Reader struct {
	ck  *loader.Checkpoint
	err error
}

// Read returns a Reader of ck's config.json.
func Read(ck *loader.Checkpoint) *Reader { return &Reader{ck: ck} }

// Err returns the first problem met, naming the file and the field.
func (r *Reader) Err() error { return r.err }

// Fail records a problem with field, unless one is recorded already.
func (r *Reader) Fail(field, format string, args ...any) {
	if r.err == nil {
		r.err = FieldError(r.ck, field, format, args...)
	}
}

func (r *Reader) keep(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Float reads a positive number, def when absent.
func (r *Reader) Float(name string, def float64) float64 {
	v, err := readFloat(r.ck, name, def)
	r.keep(err)
	return v
}

// Bool reads true or false, def when absent.
func (r *Reader) Bool(name string, def bool) bool {
	v, err := readBool(r.ck, name, def)
	r.keep(err)
	return v
}

// Int reads a positive integer, def when absent or null.
func (r *Reader) Int(name string, def int) int {
	v, present, err := r.ck.Config.Fields().PositiveInt(name)
	if err != nil {
		r.keep(ConfigError(r.ck, err))
		return def
	}
	if !present {
		return def
	}
	return v
}

// Act reads the activation named by the first present field of names.
func (r *Reader) Act(def string, names ...string) Activation {
	a, err := readAct(r.ck, def, names...)
	r.keep(err)
	return a
}

// Window reads a sliding-window size: a positive integer, or 0 when the
// field is absent or null.
func (r *Reader) Window(name string) int {
	raw, ok := r.ck.Config.Fields().Get(name)
	if !ok {
		return 0
	}
	var w int
	if err := json.Unmarshal(raw, &w); err != nil || w <= 0 {
		r.Fail(name, "%s: want a positive integer or null", raw)
	}
	return w
}

// Off fails unless the boolean field is false (def when absent): for
// options sinkscope does not implement in a family.
func (r *Reader) Off(name string, def bool, why string) {
	if r.Bool(name, def) {
		r.Fail(name, "true: %s", why)
	}
}

// Shape reads the standard sizes (StandardShape) and checks the heads.
func (r *Reader) Shape() Shape {
	s, err := StandardShape(r.ck)
	if err == nil {
		err = s.CheckHeads(r.ck)
	}
	r.keep(err)
	return s
}

// Config returns the parsed config.json.
func (r *Reader) Config() *loader.Config { return r.ck.Config }
