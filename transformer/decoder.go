// Package transformer is the decoder-only transformer that every Hugging Face
// family in sinkscope is built from: token (and learned position) embeddings,
// a stack of Layers, a final norm and an output projection, with the blocks
// the families combine:
//
//   - norms: RMSNorm, LayerNorm with or without weight and bias, and Gemma's
//     (1+w) RMSNorm (the family binds 1+w as the weight);
//   - attention: grouped KV heads, q/k/v and output biases, separate or
//     fused QKV projections (blocks q|k|v, or per head as GPT-NeoX stores
//     them), clip_qkv, QK-norm over the whole projection or per head, a
//     score scale, tanh soft-capping, sliding windows, and rotate_half RoPE
//     on all or part of each head with per-layer bases and LongRoPE;
//   - MLPs: gated (SwiGLU, GeGLU; separate or fused gate_up) and ungated
//     (GELU) with biases;
//   - wiring: pre-norm, post-norm (OLMo-2), sandwich norms (Gemma 2/3) and
//     GPT-NeoX's parallel residual.
//
// The family packages (llama, olmo, gptneox, gpt2, qwen, gemma, phi3) map
// their config.json and tensor names onto a Decoder with a Binder; the
// forward pass, its hook points and the KV cache live here once.
//
// Matrices are kernels.Weight views of the checkpoint's memory map in the
// stored dtype; the checkpoint must stay open while the Decoder is used. All
// arithmetic is float32.
package transformer

import (
	"runtime"
	"sync"

	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/model"
)

// Decoder is a decoder-only transformer.
type Decoder struct {
	Dims       model.Info     // the model's shape, returned by Info
	Embed      kernels.Weight // [vocab, d_model]
	EmbedScale float32        // the embedding is multiplied by it (Gemma: √d_model); 0 means 1
	Positions  kernels.Weight // [max_positions, d_model] learned absolute positions (GPT-2); Rows 0: none
	Layers     []Layer
	Final      Norm           // weight [d_model]
	LMHead     kernels.Weight // [vocab, d_model]; the Embed view when embeddings are tied
	Tied       bool           // LMHead is Embed
	Softcap    float32        // final logits become Softcap·tanh(logits/Softcap) (Gemma 2); 0: off

	// Threads is the number of goroutines a forward pass uses for matrix
	// products and attention; 0 means GOMAXPROCS.
	Threads int

	mu     sync.Mutex
	free   []*buffers           // activations of finished passes, for the next ones
	tables map[ropeKey]*ropeTab // RoPE tables per rotary embedding and factor set
}

// Layer is one transformer block:
//
//	a = x + PostAttnNorm(Attn(AttnNorm(x)))
//	x = a + PostMLPNorm(MLP(MLPNorm(a)))        sequential
//	x = a + PostMLPNorm(MLP(MLPNorm(x)))        Parallel (GPT-NeoX)
//
// An unused norm has Kind NoNorm.
type Layer struct {
	AttnNorm     Norm // [d_model]
	Attn         Attention
	PostAttnNorm Norm // [d_model]
	MLPNorm      Norm // [d_model]
	MLP          MLP
	PostMLPNorm  Norm // [d_model]

	// Parallel feeds the MLP the layer's input instead of the residual stream
	// after attention (GPT-NeoX use_parallel_residual). hook_resid_mid is then
	// x + attention output, a state the model never feeds anything.
	Parallel bool
}

// QKVLayout says how a fused QKV projection orders its output rows.
type QKVLayout uint8

const (
	// QKVBlocks is q for every head, then k, then v (Phi-3 qkv_proj, GPT-2
	// c_attn).
	QKVBlocks QKVLayout = iota
	// QKVPerHead is q, k and v of head 0, then of head 1, ... (GPT-NeoX
	// query_key_value; multi-head attention only).
	QKVPerHead
)

// Attention is causal multi-head attention with grouped KV heads. Query
// head h reads KV head h/(heads/kv_heads).
type Attention struct {
	Q kernels.Weight // [heads*head_dim, d_model]; unset when QKV is
	K kernels.Weight // [kv_heads*head_dim, d_model]
	V kernels.Weight // [kv_heads*head_dim, d_model]

	QKV     kernels.Weight // [(heads+2*kv_heads)*head_dim, d_model] fused, rows ordered by Layout
	Layout  QKVLayout
	QKVBias []float32 // [(heads+2*kv_heads)*head_dim] in QKV's row order; nil: none

	QBias []float32 // [heads*head_dim]; nil: none
	KBias []float32 // [kv_heads*head_dim]
	VBias []float32 // [kv_heads*head_dim]

	O     kernels.Weight // [d_model, heads*head_dim]
	OBias []float32      // [d_model]; nil: none

	// QNorm and KNorm normalise q and k after projection, before RoPE: over
	// the whole projection (OLMo-2, weights [heads*head_dim] and
	// [kv_heads*head_dim]) or, with PerHeadQKNorm, each head (Qwen3, Gemma 3,
	// weights [head_dim]).
	QNorm, KNorm  Norm
	PerHeadQKNorm bool

	Clip    float32 // OLMo: clamp q, k and v to ±Clip right after projection; 0: off
	Scale   float32 // multiplies q·k; 0 means 1/√head_dim
	Softcap float32 // scores become Softcap·tanh(s/Softcap) before masking (Gemma 2); 0: off

	// Window limits each query to the Window most recent keys (itself
	// included), as sliding_window does; 0 = all earlier keys.
	Window int

	Rope *Rope // nil: no rotary embedding (GPT-2)
}

// Rope is a rotate_half rotary embedding of the first Dims dimensions of
// every query and key head.
type Rope struct {
	Dims    int       // rotated dimensions per head (head_dim, or rotary_pct·head_dim)
	InvFreq []float32 // [Dims/2] inverse frequencies, after any scaling
	Theta   float64   // the base, for inspect
	Scaling string    // the scaling applied, for inspect ("" for none)

	// LongRoPE (Phi-3): a pass over more than LongAfter positions uses
	// LongInvFreq at every position; cos and sin are multiplied by Factor.
	LongInvFreq []float32 // [Dims/2]; nil: none
	LongAfter   int       // original_max_position_embeddings
	Factor      float32   // 0 means 1
}

// MLP is the feed-forward block, gated or not:
//
//	gated:   Down(Act(Gate·x) ⊙ (Up·x)) + DownBias
//	ungated: Down(Act(Up·x + UpBias)) + DownBias
type MLP struct {
	Gate     kernels.Weight // [intermediate, d_model]; Rows 0 with GateUp or ungated
	Up       kernels.Weight // [intermediate, d_model]
	GateUp   kernels.Weight // [2*intermediate, d_model] fused gate|up (Phi-3)
	Down     kernels.Weight // [d_model, intermediate]
	UpBias   []float32      // [intermediate]; nil: none
	DownBias []float32      // [d_model]
	Act      Activation
	Gated    bool
}

// intermediate is the MLP's width.
func (m *MLP) intermediate() int { return m.Down.Cols }

// Info returns the model's shape.
func (m *Decoder) Info() model.Info { return m.Dims }

// SetThreads sets the number of goroutines a forward pass uses (0: GOMAXPROCS).
func (m *Decoder) SetThreads(n int) { m.Threads = n }

// NumThreads returns the number of goroutines a forward pass uses.
func (m *Decoder) NumThreads() int {
	if m.Threads > 0 {
		return m.Threads
	}
	return runtime.GOMAXPROCS(0)
}

// Window returns layer l's sliding window (0: none), for analyses that must
// know which queries can see the first key (model.Windowed).
func (m *Decoder) Window(layer int) int { return m.Layers[layer].Attn.Window }

// HeadOutput writes W_O^(h) z into dst (len d_model), where W_O^(h) is head
// h's column slice of layer l's output projection and z has length
// head_dim. The output bias is not part of it.
func (m *Decoder) HeadOutput(layer, head int, dst, z []float32) {
	o := m.Layers[layer].Attn.O
	dh := m.Dims.HeadDim
	if o.Transposed {
		// Storage row c is column c of W_O: accumulate z[j]·W_O[:, h·dh+j].
		var stack [2048]float32
		var col []float32
		if o.Rows <= len(stack) {
			col = stack[:o.Rows]
		} else {
			col = make([]float32, o.Rows)
		}
		clear(dst[:o.Rows])
		n := o.Rows * o.DType.Size()
		for j := 0; j < dh; j++ {
			off := (head*dh + j) * n
			kernels.ToFloat32(col, o.Data[off:off+n], o.DType)
			kernels.Axpy(z[j], col, dst[:o.Rows])
		}
		return
	}
	var buf [256]float32
	var row []float32
	if dh <= len(buf) {
		row = buf[:dh]
	} else {
		row = make([]float32, dh)
	}
	size := o.DType.Size()
	for r := 0; r < o.Rows; r++ {
		off := (r*o.Cols + head*dh) * size
		kernels.ToFloat32(row, o.Data[off:off+dh*size], o.DType)
		dst[r] = kernels.Dot(row, z[:dh])
	}
}

// HeadWeight writes W_O^(h), head h's column slice of layer l's output
// projection, into dst as [d_model][head_dim] (model.HeadWeighter).
func (m *Decoder) HeadWeight(layer, head int, dst []float32) {
	o := m.Layers[layer].Attn.O
	dh, size := m.Dims.HeadDim, o.DType.Size()
	if o.Transposed {
		// Storage row c is column c of W_O.
		col := make([]float32, o.Rows)
		n := o.Rows * size
		for j := 0; j < dh; j++ {
			off := (head*dh + j) * n
			kernels.ToFloat32(col, o.Data[off:off+n], o.DType)
			for r, v := range col {
				dst[r*dh+j] = v
			}
		}
		return
	}
	for r := 0; r < o.Rows; r++ {
		off := (r*o.Cols + head*dh) * size
		kernels.ToFloat32(dst[r*dh:(r+1)*dh], o.Data[off:off+dh*size], o.DType)
	}
}

// MatrixElements counts the weight-matrix elements one token is multiplied
// by: every projection of every layer and the output head
// (model.MatrixCounter).
func (m *Decoder) MatrixElements() int64 {
	n := int64(m.LMHead.Rows) * int64(m.LMHead.Cols)
	for i := range m.Layers {
		at, mlp := &m.Layers[i].Attn, &m.Layers[i].MLP
		for _, w := range []kernels.Weight{at.Q, at.K, at.V, at.QKV, at.O, mlp.Gate, mlp.Up, mlp.GateUp, mlp.Down} {
			n += int64(w.Rows) * int64(w.Cols)
		}
	}
	return n
}
