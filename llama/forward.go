package llama

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/kernels"
	"github.com/sinkscope/sinkscope/model"
)

// Info returns the model's shape.
func (m *Decoder) Info() model.Info { return m.Dims }

// Forward runs one sequence through the model and returns the logits,
// [len(tokens)][vocab] flattened. Hooks in hs (nil for none) are called at
// every point they name, in the order of hooks.Points; hooks that change their
// tensor change the rest of the pass. The full [heads, T, T] score and pattern
// tensors of a layer are built only when one of them is hooked.
func (m *Decoder) Forward(tokens []int, hs *hooks.Set) ([]float32, error) {
	return m.run(tokens, hs, nil)
}

// State holds the keys and values of the tokens a Decoder has already seen,
// so that Extend computes only the new positions (a KV cache).
type State struct {
	n    int         // tokens seen
	k, v [][]float32 // per layer [n, kv_heads, head_dim]: keys after RoPE, values
}

// Len returns the number of tokens seen.
func (s *State) Len() int { return s.n }

// truncate drops the keys and values after the first n floats of each layer
// (those of a failed extension).
func (s *State) truncate(n int) {
	for l := range s.k {
		s.k[l], s.v[l] = s.k[l][:min(n, len(s.k[l]))], s.v[l][:min(n, len(s.v[l]))]
	}
}

// NewState returns an empty State for Extend.
func (m *Decoder) NewState() *State {
	return &State{k: make([][]float32, len(m.Layers)), v: make([][]float32, len(m.Layers))}
}

// Extend runs tokens at the positions after those s has seen, attending to
// them and to everything before, records their keys and values in s, and
// returns their logits, [len(tokens)][vocab] flattened. Extending an empty
// state by a whole sequence gives Forward's logits; extending it one token at
// a time gives the same logits at a fraction of the cost (greedy generation).
// Extend runs no hooks.
func (m *Decoder) Extend(s *State, tokens []int) ([]float32, error) {
	if s == nil || len(s.k) != len(m.Layers) {
		return nil, fmt.Errorf("llama: extend: state was not made by this model's NewState")
	}
	logits, err := m.run(tokens, nil, s)
	if err == nil {
		s.n += len(tokens)
	}
	return logits, err
}

// run is Forward (st == nil) or Extend.
func (m *Decoder) run(tokens []int, hs *hooks.Set, st *State) ([]float32, error) {
	T, d, V := len(tokens), m.Dims.DModel, m.Dims.Vocab
	p0 := 0
	if st != nil {
		p0 = st.n
	}
	if T == 0 {
		return nil, fmt.Errorf("llama: forward: empty token sequence")
	}
	if m.Dims.MaxSeqLen > 0 && p0+T > m.Dims.MaxSeqLen {
		return nil, fmt.Errorf("llama: forward: %d tokens exceed the model's max_position_embeddings %d", p0+T, m.Dims.MaxSeqLen)
	}
	for i, id := range tokens {
		if id < 0 || id >= V {
			return nil, fmt.Errorf("llama: forward: token %d at position %d is outside the vocabulary [0, %d)", id, p0+i, V)
		}
	}
	p := newPass(m, T, hs, st)
	for i, id := range tokens {
		m.Embed.Row(id, p.x[i*d:(i+1)*d])
	}
	p.hook(hooks.Global(hooks.Embed), p.x, T, d)
	for l := range m.Layers {
		if err := p.layer(l); err != nil {
			if st != nil {
				st.truncate(st.n * m.Dims.KVHeads * m.Dims.HeadDim)
			}
			return nil, err
		}
	}
	m.Final.Rows(p.xn, p.x, d)
	p.hook(hooks.Global(hooks.LnFinal), p.xn, T, d)
	logits := make([]float32, T*V)
	kernels.MatMulT(logits, p.xn, T, m.LMHead, p.threads)
	p.hook(hooks.Global(hooks.Logits), logits, T, V)
	return logits, nil
}

// HeadOutput writes W_O^(h) z into dst (len d_model), where W_O^(h) is head
// h's column slice of layer l's o_proj and z has length head_dim.
func (m *Decoder) HeadOutput(layer, head int, dst, z []float32) {
	o := m.Layers[layer].Attn.O
	dh := m.Dims.HeadDim
	size := o.DType.Size()
	var buf [256]float32
	row := buf[:0]
	if dh <= len(buf) {
		row = buf[:dh]
	} else {
		row = make([]float32, dh)
	}
	for r := 0; r < o.Rows; r++ {
		off := (r*o.Cols + head*dh) * size
		kernels.ToFloat32(row, o.Data[off:off+dh*size], o.DType)
		dst[r] = kernels.Dot(row, z[:dh])
	}
}

// queryBlock is how many query rows the unhooked attention scores at once.
const queryBlock = 64

// pass holds the activations of one forward pass.
type pass struct {
	m       *Decoder
	hs      *hooks.Set
	st      *State // nil for Forward
	threads int
	T       int       // positions computed
	p0      int       // position of the first one (tokens already in st)
	scale   float32   // 1/sqrt(head_dim)
	cos     []float32 // [p0+T, head_dim/2]
	sin     []float32 // [p0+T, head_dim/2]

	x       []float32   // [T, d_model] residual stream
	xn      []float32   // [T, d_model] normalised input of a sublayer
	out     []float32   // [T, d_model] sublayer output
	q       []float32   // [T, heads, head_dim]
	k       []float32   // [T, kv_heads, head_dim]
	v       []float32   // [T, kv_heads, head_dim]
	z       []float32   // [T, heads, head_dim]
	keys    []float32   // [p0+T, kv_heads, head_dim]: k, or the state's keys of this layer
	values  []float32   // [p0+T, kv_heads, head_dim]: v, or the state's values of this layer
	gate    []float32   // [T, intermediate]
	up      []float32   // [T, intermediate]
	scratch [][]float32 // per worker [queryBlock, T] scores
	full    []float32   // [heads, T, T] scores/pattern, only when hooked
}

func newPass(m *Decoder, T int, hs *hooks.Set, st *State) *pass {
	in := m.Dims
	inter := 0
	if len(m.Layers) > 0 {
		inter = m.Layers[0].MLP.Gate.Rows
	}
	threads := m.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	p := &pass{
		m: m, hs: hs, st: st, threads: threads, T: T,
		scale: float32(1 / math.Sqrt(float64(in.HeadDim))),
		x:     make([]float32, T*in.DModel),
		xn:    make([]float32, T*in.DModel),
		out:   make([]float32, T*in.DModel),
		q:     make([]float32, T*in.Heads*in.HeadDim),
		k:     make([]float32, T*in.KVHeads*in.HeadDim),
		v:     make([]float32, T*in.KVHeads*in.HeadDim),
		z:     make([]float32, T*in.Heads*in.HeadDim),
		gate:  make([]float32, T*inter),
		up:    make([]float32, T*inter),
	}
	if st != nil {
		p.p0 = st.n
	}
	p.cos, p.sin = kernels.RopeTable(m.InvFreq, p.p0+T)
	p.scratch = make([][]float32, min(threads, in.Heads))
	for w := range p.scratch {
		p.scratch[w] = make([]float32, min(queryBlock, T)*(p.p0+T))
	}
	return p
}

// hook runs the hooks at pt on data, shaped dims. The shape slice is built
// only when something is hooked there, so an unhooked point costs a branch.
func (p *pass) hook(pt hooks.Point, data []float32, dims ...int) {
	if p.hs.Has(pt) {
		p.hs.Run(pt, hooks.Tensor{Shape: append([]int(nil), dims...), Data: data})
	}
}

func (p *pass) layer(l int) error {
	ly := &p.m.Layers[l]
	T, d := p.T, p.m.Dims.DModel
	p.hook(hooks.At(l, hooks.ResidPre), p.x, T, d)

	ly.AttnNorm.Rows(p.xn, p.x, d)
	p.attention(l, &ly.Attn)
	ly.PostAttnNorm.Rows(p.out, p.out, d)
	p.hook(hooks.At(l, hooks.AttnOut), p.out, T, d)
	kernels.Axpy(1, p.out, p.x)
	p.hook(hooks.At(l, hooks.ResidMid), p.x, T, d)

	ly.MLPNorm.Rows(p.xn, p.x, d)
	p.mlp(&ly.MLP)
	ly.PostMLPNorm.Rows(p.out, p.out, d)
	p.hook(hooks.At(l, hooks.MLPOut), p.out, T, d)
	kernels.Axpy(1, p.out, p.x)
	p.hook(hooks.At(l, hooks.ResidPost), p.x, T, d)

	for i, v := range p.x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("llama: forward: layer %d: residual stream holds %v at position %d, dimension %d", l, v, i/d, i%d)
		}
	}
	return nil
}

// attention computes z from p.xn and writes o_proj(z) to p.out.
func (p *pass) attention(l int, at *Attention) {
	in := p.m.Dims
	T, H, KV, dh := p.T, in.Heads, in.KVHeads, in.HeadDim
	kernels.MatMulT(p.q, p.xn, T, at.Q, p.threads)
	kernels.MatMulT(p.k, p.xn, T, at.K, p.threads)
	kernels.MatMulT(p.v, p.xn, T, at.V, p.threads)
	if at.Clip > 0 {
		clamp(p.q, at.Clip)
		clamp(p.k, at.Clip)
		clamp(p.v, at.Clip)
	}
	at.QNorm.Rows(p.q, p.q, H*dh)
	at.KNorm.Rows(p.k, p.k, KV*dh)
	p.hook(hooks.At(l, hooks.AttnQ), p.q, T, H, dh)
	p.hook(hooks.At(l, hooks.AttnK), p.k, T, KV, dh)
	p.hook(hooks.At(l, hooks.AttnV), p.v, T, KV, dh)

	half := dh / 2
	for i := 0; i < T; i++ {
		pos := p.p0 + i
		cos, sin := p.cos[pos*half:(pos+1)*half], p.sin[pos*half:(pos+1)*half]
		for h := 0; h < H; h++ {
			kernels.ApplyRope(p.q[(i*H+h)*dh:(i*H+h+1)*dh], cos, sin)
		}
		for h := 0; h < KV; h++ {
			kernels.ApplyRope(p.k[(i*KV+h)*dh:(i*KV+h+1)*dh], cos, sin)
		}
	}

	p.keys, p.values = p.k, p.v
	if p.st != nil {
		p.st.k[l] = append(p.st.k[l], p.k...)
		p.st.v[l] = append(p.st.v[l], p.v...)
		p.keys, p.values = p.st.k[l], p.st.v[l]
	}
	if p.hs.Has(hooks.At(l, hooks.AttnScores)) || p.hs.Has(hooks.At(l, hooks.Pattern)) {
		p.attendFull(l, at)
	} else {
		p.attendBlocked(at)
	}
	p.hook(hooks.At(l, hooks.Z), p.z, T, H, dh)
	kernels.MatMulT(p.out, p.z, T, at.O, p.threads)
}

// attendBlocked computes z head by head, query block by query block, without
// keeping any head's full pattern.
func (p *pass) attendBlocked(at *Attention) {
	in := p.m.Dims
	T, H, KV, dh := p.T, in.Heads, in.KVHeads, in.HeadDim
	parallel(H, len(p.scratch), func(w, h int) {
		s, kv := p.scratch[w], h/(H/KV)
		for i0 := 0; i0 < T; i0 += queryBlock {
			i1 := min(i0+queryBlock, T)
			nk := p.p0 + i1 // rows i0..i1 see keys 0..nk
			p.scores(s, h, i0, i1, nk, at.Window)
			for r := 0; r < i1-i0; r++ {
				kernels.Softmax(s[r*nk : (r+1)*nk])
			}
			kernels.Gemm(false, false, i1-i0, dh, nk, 1, s, nk, p.values[kv*dh:], KV*dh, 0, p.z[(i0*H+h)*dh:], H*dh, 1)
		}
	})
}

// attendFull (Forward only: p0 = 0) builds the [heads, T, T] scores, runs their hooks, turns them
// into the pattern, runs its hooks, and computes z from the (possibly changed)
// pattern.
func (p *pass) attendFull(l int, at *Attention) {
	in := p.m.Dims
	T, H, KV, dh := p.T, in.Heads, in.KVHeads, in.HeadDim
	if p.full == nil {
		p.full = make([]float32, H*T*T)
	}
	head := func(h int) []float32 { return p.full[h*T*T : (h+1)*T*T] }
	workers := len(p.scratch)
	parallel(H, workers, func(_, h int) { p.scores(head(h), h, 0, T, T, at.Window) })
	p.hook(hooks.At(l, hooks.AttnScores), p.full, H, T, T)
	parallel(H, workers, func(_, h int) {
		s := head(h)
		for i := 0; i < T; i++ {
			kernels.Softmax(s[i*T : (i+1)*T])
		}
	})
	p.hook(hooks.At(l, hooks.Pattern), p.full, H, T, T)
	parallel(H, workers, func(_, h int) {
		kv := h / (H / KV)
		kernels.Gemm(false, false, T, dh, T, 1, head(h), T, p.values[kv*dh:], KV*dh, 0, p.z[h*dh:], H*dh, 1)
	})
}

// scores writes the scaled, causally masked scores of head h for query rows
// i0..i1 (positions p0+i0..p0+i1) against keys 0..nk into s, one row of nk per
// query.
func (p *pass) scores(s []float32, h, i0, i1, nk, window int) {
	in := p.m.Dims
	H, KV, dh := in.Heads, in.KVHeads, in.HeadDim
	kv := h / (H / KV)
	kernels.Gemm(false, true, i1-i0, nk, dh, p.scale, p.q[(i0*H+h)*dh:], H*dh, p.keys[kv*dh:], KV*dh, 0, s, nk, 1)
	negInf := float32(math.Inf(-1))
	for i := i0; i < i1; i++ {
		row, pos := s[(i-i0)*nk:(i-i0+1)*nk], p.p0+i
		for j := pos + 1; j < nk; j++ {
			row[j] = negInf
		}
		if window > 0 {
			for j := 0; j <= pos-window; j++ {
				row[j] = negInf
			}
		}
	}
}

// mlp writes down(silu(gate(xn)) * up(xn)) to p.out.
func (p *pass) mlp(m *MLP) {
	kernels.MatMulT(p.gate, p.xn, p.T, m.Gate, p.threads)
	kernels.MatMulT(p.up, p.xn, p.T, m.Up, p.threads)
	for i, g := range p.gate {
		p.gate[i] = kernels.SiLU(g) * p.up[i]
	}
	kernels.MatMulT(p.out, p.gate, p.T, m.Down, p.threads)
}

func clamp(x []float32, c float32) {
	for i, v := range x {
		x[i] = max(-c, min(c, v))
	}
}

// parallel calls f(worker, i) for i in [0, n) on up to workers goroutines.
func parallel(n, workers int, f func(worker, i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			f(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(w, i)
			}
		}()
	}
	wg.Wait()
}

// SetThreads sets the number of goroutines a forward pass uses (0: GOMAXPROCS).
func (m *Decoder) SetThreads(n int) { m.Threads = n }
