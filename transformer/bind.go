package transformer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/loader"
)

// Binder looks a family's tensors up by their Hugging Face names and checks
// each shape against what config.json implies, so that a family declares its
// weights once, as a list of names and shapes, and that list is both the check
// at open and the binding. Every wrong or missing tensor is collected; Err
// reports the first with a count of the rest.
type Binder struct {
	ck      *loader.Checkpoint
	summary string   // the config fields the shapes follow from, for messages
	bad     []string // tensors wrong or missing
	first   string   // the message of the first
}

// NewBinder returns a Binder for ck. summary names the config.json fields
// the shapes follow from (e.g. "hidden_size=64, num_attention_heads=4").
func NewBinder(ck *loader.Checkpoint, summary string) *Binder {
	return &Binder{ck: ck, summary: summary}
}

// Has reports whether the checkpoint holds a tensor called name.
func (b *Binder) Has(name string) bool {
	_, err := b.ck.Tensors.Get(name)
	return err == nil
}

func (b *Binder) fail(name, msg string) {
	if b.first == "" {
		b.first = msg
	}
	b.bad = append(b.bad, name)
}

// get returns the tensor name of the given shape, or nil after recording
// what is wrong.
func (b *Binder) get(name string, shape ...int) *loader.Tensor {
	t, err := b.ck.Tensors.Get(name)
	switch {
	case err != nil:
		b.fail(name, fmt.Sprintf("no tensor %q, which %s needs", name, b.ck.Config.Architecture))
		return nil
	case !slices.Equal(t.Shape, shape):
		b.fail(name, fmt.Sprintf("tensor %q in %s has shape %v, but config.json (%s) implies %v", name, t.File, t.Shape, b.summary, shape))
		return nil
	}
	return t
}

func (b *Binder) weight(t *loader.Tensor) kernels.Weight {
	w, err := t.Matrix()
	if err != nil {
		b.fail(t.Name, err.Error())
	}
	return w
}

// Matrix binds a 2-D tensor stored [rows, cols] as a view in its dtype.
func (b *Binder) Matrix(name string, rows, cols int) kernels.Weight {
	t := b.get(name, rows, cols)
	if t == nil {
		return kernels.Weight{}
	}
	return b.weight(t)
}

// Conv1D binds a tensor stored [cols, rows] (GPT-2's Conv1D keeps [in, out])
// as the matrix [rows, cols], without copying.
func (b *Binder) Conv1D(name string, rows, cols int) kernels.Weight {
	t := b.get(name, cols, rows)
	if t == nil {
		return kernels.Weight{}
	}
	w := b.weight(t)
	w.Rows, w.Cols, w.Transposed = rows, cols, true
	return w
}

// Vector binds a 1-D tensor of n elements, converted to float32 (norm
// weights and biases are small).
func (b *Binder) Vector(name string, n int) []float32 {
	t := b.get(name, n)
	if t == nil {
		return nil
	}
	return t.Float32()
}

// OnePlus binds a norm weight that the model applies as 1+w (Gemma).
func (b *Binder) OnePlus(name string, n int) []float32 {
	w := b.Vector(name, n)
	for i := range w {
		w[i]++
	}
	return w
}

// Head binds the output projection: name ([vocab, d]) unless the
// embeddings are tied, in which case it is embed.
func (b *Binder) Head(name string, tied bool, embed kernels.Weight, vocab, d int) kernels.Weight {
	if tied {
		return embed
	}
	if !b.Has(name) {
		b.fail(name, fmt.Sprintf("no tensor %q, but tie_word_embeddings is false", name))
		return kernels.Weight{}
	}
	return b.Matrix(name, vocab, d)
}

// Err returns what is wrong with the tensors bound so far, naming the
// checkpoint, the first tensor and how many more are wrong; nil if nothing.
func (b *Binder) Err() error {
	if len(b.bad) == 0 {
		return nil
	}
	msg := b.first
	if n := len(b.bad) - 1; n > 0 {
		more := b.bad[1:]
		if len(more) > 4 {
			more = append(more[:4:4], "...")
		}
		msg += fmt.Sprintf(" (and %d more tensors wrong or missing: %s)", n, strings.Join(more, ", "))
	}
	return fmt.Errorf("%s: %s", b.ck.Dir, msg)
}
