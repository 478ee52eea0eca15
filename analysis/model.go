package analysis

import (
	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/tokenizer"
)

// Model is a model opened for analysis, with its tokenizer. The embedded
// model.Model is the family's own value: pass it, not the Model, where its
// optional capabilities (model.Windowed, model.IntoForwarder, …) are asked
// for.
type Model struct {
	model.Model
	Label      string               // what it was opened from, for reports
	Tokenizer  *tokenizer.Tokenizer // nil when the checkpoint has none
	Checkpoint *loader.Checkpoint   // the open checkpoint; Close releases it
}

// Open opens arg (a checkpoint directory, org/name[@revision] in the Hugging
// Face cache, or sinkscope.Builtin) with its tokenizer, if it has one.
// threads bounds the goroutines of a forward pass (0: one per CPU).
func Open(arg string, threads int) (*Model, error) {
	m, ck, err := sinkscope.Open(arg, threads)
	if err != nil {
		return nil, err
	}
	out := &Model{Model: m, Label: arg, Checkpoint: ck}
	if ck.TokenizerPath != "" {
		if out.Tokenizer, err = ck.Tokenizer(); err != nil {
			ck.Close()
			return nil, err
		}
	}
	return out, nil
}

// Close releases the checkpoint.
func (m *Model) Close() error { return m.Checkpoint.Close() }

// BOS returns the token a sequence starts with, if the tokenizer (or a model
// that names its own tokens, model.TokenNamer) defines one.
func (m *Model) BOS() (id int, ok bool) {
	switch {
	case m.Tokenizer != nil:
		return m.Tokenizer.BOS()
	case isNamer(m.Model):
		return m.Model.(model.TokenNamer).BOS()
	}
	return 0, false
}

// TokenName returns how token id prints: the tokenizer's token, the model's
// own name for it (model.TokenNamer), or "".
func (m *Model) TokenName(id int) string {
	switch {
	case m.Tokenizer != nil:
		return m.Tokenizer.Token(id)
	case isNamer(m.Model):
		return m.Model.(model.TokenNamer).Token(id)
	}
	return ""
}

func isNamer(m model.Model) bool { _, ok := m.(model.TokenNamer); return ok }
