package transformer

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/fault"
	"github.com/sinkscope/sinkscope/internal/kernels"
)

// Forward runs one sequence through the model and returns the logits,
// [len(tokens)][vocab] flattened. Hooks in hs (nil for none) are called at
// every point they name, in the order of hooks.Points; hooks that change their
// tensor change the rest of the pass. The full [heads, T, T] score and pattern
// tensors of a layer are built only when one of them is hooked. Forward may
// be called from several goroutines at once.
func (m *Decoder) Forward(tokens []int, hs *hooks.Set) ([]float32, error) {
	return m.run(nil, tokens, hs, nil)
}

// ForwardInto is Forward with the logits written into dst when its capacity
// suffices (model.IntoForwarder).
func (m *Decoder) ForwardInto(dst []float32, tokens []int, hs *hooks.Set) ([]float32, error) {
	return m.run(dst, tokens, hs, nil)
}

// run is Forward (st == nil) or Extend, with the logits in dst if it is
// large enough.
func (m *Decoder) run(dst []float32, tokens []int, hs *hooks.Set, st *State) ([]float32, error) {
	T, d, V := len(tokens), m.Dims.DModel, m.Dims.Vocab
	p0 := 0
	if st != nil {
		p0 = st.n
	}
	if T == 0 {
		return nil, fmt.Errorf("forward: empty token sequence")
	}
	if m.Dims.MaxSeqLen > 0 && p0+T > m.Dims.MaxSeqLen {
		return nil, fmt.Errorf("forward: %d tokens exceed the model's max_position_embeddings %d", p0+T, m.Dims.MaxSeqLen)
	}
	for i, id := range tokens {
		if id < 0 || id >= V {
			return nil, fmt.Errorf("forward: token %d at position %d is outside the vocabulary [0, %d)", id, p0+i, V)
		}
	}
	p := newPass(m, T, hs, st)
	defer m.release(p.buffers)
	m.embed(p.x, tokens, p0)
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
	logits := dst[:0]
	if cap(logits) < T*V {
		logits = make([]float32, T*V)
	}
	logits = logits[:T*V]
	kernels.MatMulT(logits, p.xn, T, m.LMHead, p.threads)
	if c := m.Softcap; c > 0 {
		// tanh over [T, vocab] is a real cost at Gemma's 256k vocabulary:
		// one position's row per task.
		parallel(T, p.threads, func(_, i int) { kernels.Softcap(logits[i*V:(i+1)*V], c) })
	}
	p.hook(hooks.Global(hooks.Logits), logits, T, V)
	return logits, nil
}

// embed writes the residual stream entering layer 0 for tokens at positions
// p0, p0+1, ...: the scaled token embedding plus the learned position's row.
func (m *Decoder) embed(x []float32, tokens []int, p0 int) {
	d := m.Dims.DModel
	var pos []float32
	if m.Positions.Rows > 0 {
		pos = make([]float32, d)
	}
	for i, id := range tokens {
		row := x[i*d : (i+1)*d]
		m.Embed.Row(id, row)
		if s := m.EmbedScale; s != 0 {
			for j := range row {
				row[j] *= s
			}
		}
		if pos != nil {
			m.Positions.Row(p0+i, pos)
			for j, v := range pos {
				row[j] += v
			}
		}
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
	T       int // positions computed
	p0      int // position of the first one (tokens already in st)

	keys   []float32 // [p0+T, kv_heads, head_dim]: k, or the state's keys of this layer
	values []float32 // [p0+T, kv_heads, head_dim]: v, or the state's values of this layer

	*buffers
}

// buffers are the activations of a pass. A Decoder keeps them from one pass
// to the next, so that a run over many sequences does not allocate them anew
// for each and memory stays at one pass's activations per concurrent pass.
// A hook that keeps a tensor must copy it.
type buffers struct {
	x       []float32   // [T, d_model] residual stream
	xn      []float32   // [T, d_model] normalised input of a sublayer
	in      []float32   // [T, d_model] the layer's input (parallel residual only)
	out     []float32   // [T, d_model] sublayer output
	q       []float32   // [T, heads, head_dim]
	k       []float32   // [T, kv_heads, head_dim]
	v       []float32   // [T, kv_heads, head_dim]
	qkv     []float32   // [T, (heads+2*kv_heads)*head_dim] fused projection output
	z       []float32   // [T, heads, head_dim]
	gate    []float32   // [T, intermediate] (or [T, 2*intermediate] for a fused gate_up)
	up      []float32   // [T, intermediate]
	scratch [][]float32 // per worker [queryBlock, p0+T] scores
	full    []float32   // [heads, T, T] scores/pattern, only when hooked
}

// acquire takes the buffers of a finished pass, or new ones.
func (m *Decoder) acquire() *buffers {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.free); n > 0 {
		b := m.free[n-1]
		m.free = m.free[:n-1]
		return b
	}
	return new(buffers)
}

// release keeps b for the next pass.
func (m *Decoder) release(b *buffers) {
	m.mu.Lock()
	m.free = append(m.free, b)
	m.mu.Unlock()
}

// sized returns buf with n zeroed elements, in buf's array when it is large
// enough.
func sized(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	buf = buf[:n]
	clear(buf)
	return buf
}

func newPass(m *Decoder, T int, hs *hooks.Set, st *State) *pass {
	in := m.Dims
	inter, fused, parallelRes := 0, false, false
	for i := range m.Layers {
		ly := &m.Layers[i]
		inter = max(inter, ly.MLP.intermediate())
		fused = fused || ly.Attn.QKV.Rows > 0
		parallelRes = parallelRes || ly.Parallel
	}
	threads := m.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	b := m.acquire()
	p := &pass{m: m, hs: hs, st: st, threads: threads, T: T, buffers: b}
	if st != nil {
		p.p0 = st.n
	}
	b.x = sized(b.x, T*in.DModel)
	b.xn = sized(b.xn, T*in.DModel)
	b.out = sized(b.out, T*in.DModel)
	if parallelRes {
		b.in = sized(b.in, T*in.DModel)
	}
	b.q = sized(b.q, T*in.Heads*in.HeadDim)
	b.k = sized(b.k, T*in.KVHeads*in.HeadDim)
	b.v = sized(b.v, T*in.KVHeads*in.HeadDim)
	if fused {
		b.qkv = sized(b.qkv, T*(in.Heads+2*in.KVHeads)*in.HeadDim)
	}
	b.z = sized(b.z, T*in.Heads*in.HeadDim)
	b.gate = sized(b.gate, 2*T*inter)
	b.up = sized(b.up, T*inter)
	b.full = b.full[:0] // sized when a hook needs it
	if n := min(threads, in.Heads); len(b.scratch) != n {
		b.scratch = make([][]float32, n)
	}
	for w := range b.scratch {
		b.scratch[w] = sized(b.scratch[w], min(queryBlock, T)*(p.p0+T))
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
	if ly.Parallel {
		copy(p.in, p.x)
	}

	ly.AttnNorm.Rows(p.xn, p.x, d)
	p.attention(l, &ly.Attn)
	ly.PostAttnNorm.Rows(p.out, p.out, d)
	p.hook(hooks.At(l, hooks.AttnOut), p.out, T, d)
	kernels.Axpy(1, p.out, p.x)
	p.hook(hooks.At(l, hooks.ResidMid), p.x, T, d)

	if ly.Parallel {
		ly.MLPNorm.Rows(p.xn, p.in, d)
	} else {
		ly.MLPNorm.Rows(p.xn, p.x, d)
	}
	p.mlp(&ly.MLP)
	ly.PostMLPNorm.Rows(p.out, p.out, d)
	p.hook(hooks.At(l, hooks.MLPOut), p.out, T, d)
	kernels.Axpy(1, p.out, p.x)
	p.hook(hooks.At(l, hooks.ResidPost), p.x, T, d)

	for i, v := range p.x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("forward: layer %d: residual stream holds %v at position %d, dimension %d", l, v, p.p0+i/d, i%d)
		}
	}
	return nil
}

// mlp writes the MLP of p.xn to p.out.
func (p *pass) mlp(m *MLP) {
	T, ff := p.T, m.intermediate()
	gate, up := p.gate[:T*ff], p.up[:T*ff]
	switch {
	case m.GateUp.Rows > 0:
		both := p.gate[:2*T*ff]
		kernels.MatMulT(both, p.xn, T, m.GateUp, p.threads)
		for i := 0; i < T; i++ {
			copy(up[i*ff:(i+1)*ff], both[(2*i+1)*ff:(2*i+2)*ff])
			copy(gate[i*ff:(i+1)*ff], both[2*i*ff:(2*i+1)*ff]) // row i ≤ 2i: no overlap ahead
		}
	case m.Gated:
		kernels.MatMulT(gate, p.xn, T, m.Gate, p.threads)
		kernels.MatMulT(up, p.xn, T, m.Up, p.threads)
	default:
		kernels.MatMulT(up, p.xn, T, m.Up, p.threads)
		addBias(up, m.UpBias)
	}
	if m.Gated {
		m.Act.apply(gate)
		for i, g := range gate {
			up[i] *= g
		}
	} else {
		m.Act.apply(up)
	}
	kernels.MatMulT(p.out, up, T, m.Down, p.threads)
	addBias(p.out, m.DownBias)
}

// addBias adds b to every len(b)-long row of x; nil b adds nothing.
func addBias(x, b []float32) {
	if len(b) == 0 {
		return
	}
	for off := 0; off+len(b) <= len(x); off += len(b) {
		row := x[off : off+len(b)]
		for i, v := range b {
			row[i] += v
		}
	}
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
	var relay fault.Relay // a fault reading mapped weights goes to the caller
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer relay.Catch()
			fault.Enable()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(w, i)
			}
		}()
	}
	wg.Wait()
	relay.Rethrow()
}
