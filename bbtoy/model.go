package bbtoy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
)

// Architecture is the config.json architectures[0] of BB checkpoints.
const Architecture = "BigramBackcopyTransformer"

// Model is a BB transformer with float32 weights. It implements model.Model:
// Forward runs one sequence with TransformerLens hook points (hook_q, hook_k and
// hook_v are [T, H, dh]; there is no RoPE, so they are the plain projections).
// Forward keeps no state between calls, so several goroutines may call it at
// once, each with its own hooks.Set.
type Model struct {
	cfg    Config
	task   *Task
	lay    *layout
	params []float32 // [lay.total] every tensor, flat, in layout order
	net    *net[float32]
	train  *TrainInfo // how the checkpoint was trained; nil if unknown
}

// NewModel returns a freshly initialised model (PyTorch's default
// initialisation: embeddings N(0, 1), linear layers U(±1/√in), LayerNorms
// identity) for task, drawn from a PCG generator seeded with seed.
func NewModel(c Config, task *Task, seed uint64) (*Model, error) {
	m, err := newModel(c, task, nil)
	if err != nil {
		return nil, err
	}
	m.lay.init(m.params, rand.New(rand.NewPCG(seed, 0x6262746f79)))
	return m, nil
}

// newModel builds a model around params (nil: zeros).
func newModel(c Config, task *Task, params []float32) (*Model, error) {
	c = c.clone()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Vocab != task.Vocab() {
		return nil, fmt.Errorf("bbtoy: config vocab_size %d, but the task has %d tokens", c.Vocab, task.Vocab())
	}
	lay := newLayout(c)
	if params == nil {
		params = make([]float32, lay.total)
	}
	return &Model{cfg: c, task: task, lay: lay, params: params, net: &net[float32]{cfg: c, w: bind(lay, params)}}, nil
}

// New reads a BigramBackcopyTransformer checkpoint opened by the loader. The
// weights are copied, so c may be closed afterwards.
func New(c *loader.Checkpoint) (*Model, error) {
	if c.Config == nil || c.Tensors == nil {
		return nil, fmt.Errorf("bbtoy: %s: checkpoint has no config or no tensors", c.Dir)
	}
	if c.Config.Architecture != Architecture {
		return nil, fmt.Errorf("bbtoy: %s: architecture %q, want %q", c.Dir, c.Config.Architecture, Architecture)
	}
	raw, err := json.Marshal(c.Config.Raw)
	if err != nil {
		return nil, fmt.Errorf("bbtoy: %s: config.json: %w", c.Dir, err)
	}
	fc, err := parseFileConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("bbtoy: %s: config.json: %w", c.Dir, err)
	}
	task, err := NewTask(fc.Task)
	if err != nil {
		return nil, fmt.Errorf("bbtoy: %s: config.json: %w", c.Dir, err)
	}
	m, err := newModel(fc.config(), task, nil)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s/config.json)", err, c.Dir)
	}
	m.train = fc.Training
	for _, s := range m.lay.specs {
		t, err := c.Tensors.Get(s.name)
		if err != nil {
			return nil, fmt.Errorf("bbtoy: %s: %w", c.Dir, err)
		}
		if !slices.Equal(t.Shape, s.shape) {
			return nil, fmt.Errorf("bbtoy: %s: tensor %q has shape %v, config.json implies %v", c.Dir, s.name, t.Shape, s.shape)
		}
		copy(m.params[s.off:s.off+s.n], t.Float32())
	}
	if len(c.Tensors.Names()) != len(m.lay.specs) {
		return nil, fmt.Errorf("bbtoy: %s: %d tensors in the checkpoint, config.json implies %d", c.Dir, len(c.Tensors.Names()), len(m.lay.specs))
	}
	return m, nil
}

// Task returns the task the model was trained on.
func (m *Model) Task() *Task { return m.task }

// Config returns the model's shape.
func (m *Model) Config() Config { return m.cfg.clone() }

// Training describes how the checkpoint was trained (nil if unknown).
func (m *Model) Training() *TrainInfo { return m.train }

// Info implements model.Model.
func (m *Model) Info() model.Info {
	return model.Info{Arch: Architecture, Layers: m.cfg.Layers, Heads: m.cfg.Heads, KVHeads: m.cfg.Heads,
		HeadDim: m.cfg.HeadDim(), DModel: m.cfg.D, Vocab: m.cfg.Vocab, MaxSeqLen: m.cfg.MaxPos}
}

// Forward implements model.Model: the logits [len(tokens)][Vocab] of one
// sequence, calling the hooks in hs at every point they name.
func (m *Model) Forward(tokens []int, hs *hooks.Set) ([]float32, error) {
	if err := m.checkTokens(tokens); err != nil {
		return nil, err
	}
	a := newActs[float32](m.cfg, len(tokens))
	m.net.forward(tokens, a, hs)
	return a.logits, nil
}

func (m *Model) checkTokens(tokens []int) error {
	if len(tokens) == 0 {
		return fmt.Errorf("bbtoy: empty input")
	}
	if len(tokens) > m.cfg.MaxPos {
		return fmt.Errorf("bbtoy: %d tokens, but the model has %d positions", len(tokens), m.cfg.MaxPos)
	}
	for i, id := range tokens {
		if id < 0 || id >= m.cfg.Vocab {
			return fmt.Errorf("bbtoy: token %d at position %d is outside the vocabulary [0, %d)", id, i, m.cfg.Vocab)
		}
	}
	return nil
}

// HeadOutput implements model.Model: dst = W_O^(h) z, the head's column slice
// of layer l's output projection applied to z (zero for a layer without attention).
func (m *Model) HeadOutput(layer, head int, dst, z []float32) {
	clear(dst)
	if layer < 0 || layer >= m.cfg.Layers || !m.cfg.HasAttn(layer) {
		return
	}
	d, dh := m.cfg.D, m.cfg.HeadDim()
	wo := m.net.w.layers[layer].wo
	for i := range dst[:d] {
		row := wo[i*d+head*dh : i*d+(head+1)*dh]
		var s float32
		for k, v := range row {
			s += v * z[k]
		}
		dst[i] = s
	}
}

// Open is New as a model.Model, for the architecture registry.
func Open(c *loader.Checkpoint) (model.Model, error) {
	m, err := New(c)
	if err != nil {
		return nil, err
	}
	return m, nil
}
