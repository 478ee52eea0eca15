package llama

import (
	"fmt"
	"sync"

	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/model"
)

// Decoder is a Llama-style decoder-only transformer: token embedding, a stack
// of Layers, a final norm and an output projection. The families differ only
// in the options their layers are built with (see Options), so Llama, Mistral,
// OLMo and OLMo-2 all run through Decoder.Forward.
//
// Matrices are kernels.Weight views of the checkpoint's memory map in the
// stored dtype; the checkpoint must stay open while the Decoder is used.
type Decoder struct {
	Dims    model.Info     // the model's shape, returned by Info
	Embed   kernels.Weight // [vocab, d_model]
	Layers  []Layer
	Final   Norm           // weight [d_model] (nil for OLMo)
	LMHead  kernels.Weight // [vocab, d_model]; the Embed view when embeddings are tied
	InvFreq []float32      // [head_dim/2] RoPE inverse frequencies (after rope scaling)

	// Threads is the number of goroutines a forward pass uses for matrix
	// products and attention; 0 means GOMAXPROCS.
	Threads int

	mu      sync.Mutex
	free    []*buffers // activations of finished passes, for the next ones
	ropeCos []float32  // [positions, head_dim/2] RoPE table for the longest pass so far
	ropeSin []float32  // [positions, head_dim/2]
}

// Layer is one transformer block:
//
//	x = x + PostAttnNorm(Attn(AttnNorm(x)))
//	x = x + PostMLPNorm(MLP(MLPNorm(x)))
//
// Llama and OLMo use the pre-norms only, OLMo-2 the post-norms only; an unused
// norm has Kind NoNorm.
type Layer struct {
	AttnNorm     Norm // weight [d_model]
	Attn         Attention
	PostAttnNorm Norm // weight [d_model]
	MLPNorm      Norm // weight [d_model]
	MLP          MLP
	PostMLPNorm  Norm // weight [d_model]
}

// Attention is causal multi-head attention with grouped KV heads and
// rotate_half RoPE. Query head h reads KV head h/(heads/kv_heads).
type Attention struct {
	Q     kernels.Weight // [heads*head_dim, d_model]
	K     kernels.Weight // [kv_heads*head_dim, d_model]
	V     kernels.Weight // [kv_heads*head_dim, d_model]
	O     kernels.Weight // [d_model, heads*head_dim]
	QNorm Norm           // OLMo-2: over the whole projection, weight [heads*head_dim]
	KNorm Norm           // OLMo-2: over the whole projection, weight [kv_heads*head_dim]
	Clip  float32        // OLMo: clamp q, k and v to ±Clip right after projection; 0 = off

	// Window limits each query to the Window most recent keys (itself
	// included), as Mistral's sliding_window does; 0 = all earlier keys.
	Window int
}

// MLP is the SwiGLU feed-forward block down(silu(gate(x)) * up(x)).
type MLP struct {
	Gate kernels.Weight // [intermediate, d_model]
	Up   kernels.Weight // [intermediate, d_model]
	Down kernels.Weight // [d_model, intermediate]
}

// Options says how a family's checkpoint maps onto a Decoder. Weight names
// are the Hugging Face ones, shared by all four families:
// model.embed_tokens, model.layers.N.self_attn.{q,k,v,o}_proj,
// model.layers.N.mlp.{gate,up,down}_proj, model.norm and lm_head.
type Options struct {
	Norm        NormKind // every norm of the model
	Eps         float32  // epsilon of every norm
	NormWeights bool     // false: non-parametric norms with no tensors (OLMo)

	// PostNorms moves the layer norms from the sublayer inputs
	// (input_layernorm, post_attention_layernorm: Llama, OLMo) to the sublayer
	// outputs (post_attention_layernorm, post_feedforward_layernorm: OLMo-2).
	PostNorms bool
	QKNorm    bool    // self_attn.q_norm / k_norm over the whole projection (OLMo-2)
	Clip      float32 // clip_qkv (OLMo); 0 = none
	Window    int     // sliding window (Mistral); 0 = none
}

// Build binds the tensors of c into a Decoder laid out as opts describes,
// checking every shape against c.Config.
func Build(c *loader.Checkpoint, opts Options) (*Decoder, error) {
	cfg := c.Config
	if cfg == nil {
		return nil, fmt.Errorf("llama: %s: checkpoint has no config", c.Dir)
	}
	d, H, KV := cfg.HiddenSize, cfg.NumHeads, cfg.NumKVHeads
	if KV == 0 {
		KV = H
	}
	dh := cfg.HeadDim
	if dh == 0 && H > 0 {
		dh = d / H
	}
	switch {
	case d <= 0 || H <= 0 || KV <= 0 || dh <= 0 || cfg.NumLayers <= 0 || cfg.VocabSize <= 0 || cfg.IntermediateSize <= 0:
		return nil, fmt.Errorf("llama: %s: config.json: hidden_size %d, num_attention_heads %d, num_key_value_heads %d, head_dim %d, num_hidden_layers %d, vocab_size %d, intermediate_size %d: all must be positive",
			c.Dir, d, H, KV, dh, cfg.NumLayers, cfg.VocabSize, cfg.IntermediateSize)
	case H%KV != 0:
		return nil, fmt.Errorf("llama: %s: config.json: num_attention_heads (%d) must be divisible by num_key_value_heads (%d)", c.Dir, H, KV)
	case dh%2 != 0:
		return nil, fmt.Errorf("llama: %s: config.json: head_dim %d must be even for RoPE", c.Dir, dh)
	}
	m := &Decoder{
		Dims: model.Info{
			Arch: cfg.Architecture, Layers: cfg.NumLayers, Heads: H, KVHeads: KV, HeadDim: dh,
			DModel: d, Vocab: cfg.VocabSize, MaxSeqLen: cfg.MaxPositionEmbeddings,
		},
		InvFreq: kernels.RopeInvFreq(dh, cfg.RopeTheta, cfg.RopeScaling),
	}
	b := &binder{c: c}
	norm := func(name string, width int) Norm {
		n := Norm{Kind: opts.Norm, Eps: opts.Eps}
		if opts.NormWeights {
			n.Weight = b.vector(name, width)
		}
		return n
	}
	m.Embed = b.matrix("model.embed_tokens.weight", cfg.VocabSize, d)
	m.Layers = make([]Layer, cfg.NumLayers)
	for l := range m.Layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		ly := &m.Layers[l]
		ly.Attn = Attention{
			Q:      b.matrix(p+"self_attn.q_proj.weight", H*dh, d),
			K:      b.matrix(p+"self_attn.k_proj.weight", KV*dh, d),
			V:      b.matrix(p+"self_attn.v_proj.weight", KV*dh, d),
			O:      b.matrix(p+"self_attn.o_proj.weight", d, H*dh),
			Clip:   opts.Clip,
			Window: opts.Window,
		}
		if opts.QKNorm {
			ly.Attn.QNorm = norm(p+"self_attn.q_norm.weight", H*dh)
			ly.Attn.KNorm = norm(p+"self_attn.k_norm.weight", KV*dh)
		}
		ly.MLP = MLP{
			Gate: b.matrix(p+"mlp.gate_proj.weight", cfg.IntermediateSize, d),
			Up:   b.matrix(p+"mlp.up_proj.weight", cfg.IntermediateSize, d),
			Down: b.matrix(p+"mlp.down_proj.weight", d, cfg.IntermediateSize),
		}
		if opts.PostNorms {
			ly.PostAttnNorm = norm(p+"post_attention_layernorm.weight", d)
			ly.PostMLPNorm = norm(p+"post_feedforward_layernorm.weight", d)
		} else {
			ly.AttnNorm = norm(p+"input_layernorm.weight", d)
			ly.MLPNorm = norm(p+"post_attention_layernorm.weight", d)
		}
	}
	m.Final = norm("model.norm.weight", d)
	if cfg.TieWordEmbeddings || !b.has("lm_head.weight") {
		m.LMHead = m.Embed
	} else {
		m.LMHead = b.matrix("lm_head.weight", cfg.VocabSize, d)
	}
	if b.err != nil {
		return nil, b.err
	}
	return m, nil
}

// binder looks tensors up by name and checks their shapes; the first error
// sticks, so Build reads as a list of names.
type binder struct {
	c   *loader.Checkpoint
	err error
}

func (b *binder) has(name string) bool {
	_, err := b.c.Tensors.Get(name)
	return err == nil
}

func (b *binder) get(name string, shape ...int) *loader.Tensor {
	if b.err != nil {
		return nil
	}
	t, err := b.c.Expect(name, shape...)
	if err != nil {
		b.err = fmt.Errorf("llama: %w", err)
		return nil
	}
	return t
}

func (b *binder) matrix(name string, rows, cols int) kernels.Weight {
	t := b.get(name, rows, cols)
	if t == nil {
		return kernels.Weight{}
	}
	w, err := t.Matrix()
	if err != nil {
		b.err = fmt.Errorf("llama: %s: tensor %q: %w", b.c.Dir, name, err)
	}
	return w
}

func (b *binder) vector(name string, n int) []float32 {
	t := b.get(name, n)
	if t == nil {
		return nil
	}
	return t.Float32()
}
