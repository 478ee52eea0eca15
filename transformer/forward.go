package transformer

import (
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/kernels"
)

// Forward runs one sequence through the model and returns the logits,
// [len(tokens)][vocab] flattened. Hooks in hs (nil for none) are called at
// every point they name, in the order of hooks.Points; hooks that change their
// tensor change the rest of the pass. The full [heads, T, T] score and pattern
// tensors of a layer are built only when a Func (not a BlockFunc) hooks one of
// them. Forward may be called from several goroutines at once.
func (m *Decoder) Forward(tokens []int, hs *hooks.Set) ([]float32, error) {
	return m.ForwardInto(nil, tokens, hs)
}

// ForwardInto is Forward with the logits written into dst when its capacity
// suffices (model.IntoForwarder).
func (m *Decoder) ForwardInto(dst []float32, tokens []int, hs *hooks.Set) ([]float32, error) {
	out := logitSink{dst: dst, full: true}
	if err := m.run([][]int{tokens}, []*hooks.Set{hs}, nil, &out); err != nil {
		return nil, err
	}
	return out.dst, nil
}

// ForwardBatch runs sequences of equal length together, sequence b with the
// hooks hs[b] (hs may be nil or hold nil sets), and hands their logits to fn
// a chunk of positions at a time: fn(b, i0, chunk) with chunk the logits of
// positions i0, i0+1, ... of sequence b, [rows][vocab] flattened, in order of
// positions for each sequence. The [T, vocab] logits of a whole sequence exist
// only when hook_logits is hooked; otherwise memory holds a chunk of them. The
// matrix products see all sequences' positions at once, and every result (hook
// tensors, logits) has the bits of a Forward of that sequence alone
// (model.Batcher). fn must not keep chunk.
func (m *Decoder) ForwardBatch(seqs [][]int, hs []*hooks.Set, fn func(b, i0 int, chunk []float32) error) error {
	if len(seqs) == 0 {
		return nil
	}
	for b := range seqs {
		if len(seqs[b]) != len(seqs[0]) {
			return fmt.Errorf("forward: batch sequence %d has %d tokens, sequence 0 has %d: a batch takes equal lengths", b, len(seqs[b]), len(seqs[0]))
		}
	}
	if hs == nil {
		hs = make([]*hooks.Set, len(seqs))
	}
	if len(hs) != len(seqs) {
		return fmt.Errorf("forward: %d hook sets for a batch of %d sequences", len(hs), len(seqs))
	}
	return m.run(seqs, hs, nil, &logitSink{fn: fn})
}

// logitSink is where run puts the logits: all of them into dst (full), or a
// chunk at a time to fn.
type logitSink struct {
	full bool
	dst  []float32
	fn   func(b, i0 int, chunk []float32) error
}

// logitRows is how many positions' logits a chunked pass computes at once:
// the matrix product's token block, so that chunking reads the output
// weights no more often than one product over all positions.
const logitRows = 256

// mlpRows is how many positions go through the MLP at once, bounding its
// intermediate activations (the widest of a pass) to [mlpRows, intermediate].
const mlpRows = 512

// run is Forward, ForwardBatch (st == nil) or Extend (one sequence).
func (m *Decoder) run(seqs [][]int, hss []*hooks.Set, st *State, out *logitSink) error {
	B, T, d, V := len(seqs), len(seqs[0]), m.Dims.DModel, m.Dims.Vocab
	p0 := 0
	if st != nil {
		p0 = st.n
	}
	if T == 0 {
		return fmt.Errorf("forward: empty token sequence")
	}
	if m.Dims.MaxSeqLen > 0 && p0+T > m.Dims.MaxSeqLen {
		return fmt.Errorf("forward: %d tokens exceed the model's max_position_embeddings %d", p0+T, m.Dims.MaxSeqLen)
	}
	for b, tokens := range seqs {
		for i, id := range tokens {
			if id < 0 || id >= V {
				return fmt.Errorf("forward: %stoken %d at position %d is outside the vocabulary [0, %d)", seqName(b, B), id, p0+i, V)
			}
		}
	}
	p := newPass(m, B, T, hss, st)
	defer m.release(p.buffers)
	for b, tokens := range seqs {
		m.embed(p.x[b*T*d:(b+1)*T*d], tokens, p0)
	}
	p.hook(hooks.Global(hooks.Embed), p.x, T, d)
	for l := range m.Layers {
		if err := p.layer(l); err != nil {
			if st != nil {
				st.truncate(st.n * m.Dims.KVHeads * m.Dims.HeadDim)
			}
			return err
		}
	}
	m.Final.Rows(p.xn, p.x, d)
	p.hook(hooks.Global(hooks.LnFinal), p.xn, T, d)
	return p.logits(out)
}

// seqName is "sequence b: " in a batch of several, "" for one.
func seqName(b, B int) string {
	if B == 1 {
		return ""
	}
	return fmt.Sprintf("sequence %d: ", b)
}

// logits computes the output head of p.xn into out: whole when out wants
// all logits or a set hooks them, else logitRows positions at a time.
func (p *pass) logits(out *logitSink) error {
	m := p.m
	N, T, d, V := p.N, p.T, m.Dims.DModel, m.Dims.Vocab
	hooked := false
	for _, hs := range p.hs {
		hooked = hooked || hs.Has(hooks.Global(hooks.Logits))
	}
	if out.full || hooked {
		logits := out.dst[:0]
		if cap(logits) < N*V {
			logits = make([]float32, N*V)
		}
		logits = logits[:N*V]
		p.outputHead(logits, p.xn, N)
		p.hook(hooks.Global(hooks.Logits), logits, T, V)
		out.dst = logits
		if out.fn != nil {
			for b := 0; b < p.B; b++ {
				if err := out.fn(b, 0, logits[b*T*V:(b+1)*T*V]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	rows := min(logitRows, N)
	p.chunk = sized(p.chunk, rows*V)
	for r0 := 0; r0 < N; r0 += rows {
		n := min(rows, N-r0)
		c := p.chunk[:n*V]
		p.outputHead(c, p.xn[r0*d:(r0+n)*d], n)
		// Hand the chunk out per sequence it covers.
		for r := r0; r < r0+n; {
			b, i := r/T, r%T
			k := min(T-i, r0+n-r)
			if err := out.fn(b, i, c[(r-r0)*V:(r-r0+k)*V]); err != nil {
				return err
			}
			r += k
		}
	}
	return nil
}

// outputHead writes the (soft-capped) logits of the n rows of xn to dst.
func (p *pass) outputHead(dst, xn []float32, n int) {
	m, V := p.m, p.m.Dims.Vocab
	kernels.MatMulT(dst, xn, n, m.LMHead, p.threads)
	if c := m.Softcap; c > 0 {
		// tanh over [n, vocab] is a real cost at Gemma's 256k vocabulary:
		// one position's row per task.
		p.parallel(n, func(_, i int) { kernels.Softcap(dst[i*V:(i+1)*V], c) })
	}
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
const queryBlock = 96

// pass holds the activations of one forward pass over B sequences of T
// positions each, stacked into N = B·T rows: sequence b is rows b·T..(b+1)·T−1
// of every [N, ...] buffer.
type pass struct {
	m       *Decoder
	hs      []*hooks.Set // [B] each sequence's hooks (nil entries: none)
	st      *State       // nil for Forward (then B may exceed 1)
	threads int
	B, T, N int // sequences, positions per sequence, rows
	p0      int // position of the first one (tokens already in st)

	*buffers
}

// buffers are the activations of a pass. A Decoder keeps them from one pass
// to the next, so that a run over many sequences does not allocate them anew
// for each and memory stays at one pass's activations per concurrent pass.
// A hook that keeps a tensor must copy it.
type buffers struct {
	x       []float32   // [N, d_model] residual stream
	xn      []float32   // [N, d_model] normalised input of a sublayer
	in      []float32   // [N, d_model] the layer's input (parallel residual only)
	out     []float32   // [N, d_model] sublayer output
	q       []float32   // [N, heads, head_dim]
	k       []float32   // [N, kv_heads, head_dim]
	v       []float32   // [N, kv_heads, head_dim]
	qkv     []float32   // [N, (heads+2*kv_heads)*head_dim] fused projection output
	z       []float32   // [N, heads, head_dim]
	gate    []float32   // [mlpRows, intermediate] (or [mlpRows, 2*intermediate] for a fused gate_up)
	up      []float32   // [mlpRows, intermediate]
	chunk   []float32   // [logitRows, vocab] logits of a chunked pass
	scratch [][]float32 // per worker [queryBlock, p0+T] scores, then pattern
	kept    [][]float32 // per worker [queryBlock, p0+T] scores kept for block hooks
	kpack   [][]float32 // per worker a head's scaled keys packed: kernels.PackedBLen(p0+T, head_dim)
	vpack   [][]float32 // per worker a head's values packed: kernels.PackedBLen(head_dim, p0+T)
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

// grown returns buf with n elements, in buf's array when it is large enough;
// they are not cleared, for buffers that are written before they are read.
func grown(buf []float32, n int) []float32 {
	if cap(buf) < n {
		return make([]float32, n)
	}
	return buf[:n]
}

func newPass(m *Decoder, B, T int, hs []*hooks.Set, st *State) *pass {
	in := m.Dims
	inter, fused, parallelRes := 0, false, false
	for i := range m.Layers {
		ly := &m.Layers[i]
		inter = max(inter, ly.MLP.intermediate())
		fused = fused || ly.Attn.QKV.Rows > 0
		parallelRes = parallelRes || ly.Parallel
	}
	threads := m.NumThreads()
	N := B * T
	b := m.acquire()
	p := &pass{m: m, hs: hs, st: st, threads: threads, B: B, T: T, N: N, buffers: b}
	if st != nil {
		p.p0 = st.n
	}
	b.x = sized(b.x, N*in.DModel)
	b.xn = sized(b.xn, N*in.DModel)
	b.out = sized(b.out, N*in.DModel)
	if parallelRes {
		b.in = sized(b.in, N*in.DModel)
	}
	b.q = sized(b.q, N*in.Heads*in.HeadDim)
	b.k = sized(b.k, N*in.KVHeads*in.HeadDim)
	b.v = sized(b.v, N*in.KVHeads*in.HeadDim)
	if fused {
		b.qkv = sized(b.qkv, N*(in.Heads+2*in.KVHeads)*in.HeadDim)
	}
	b.z = sized(b.z, N*in.Heads*in.HeadDim)
	b.gate = sized(b.gate, 2*min(N, mlpRows)*inter)
	b.up = sized(b.up, min(N, mlpRows)*inter)
	b.full = b.full[:0] // sized when a hook needs it
	if n := min(threads, in.Heads); len(b.scratch) != n {
		b.scratch = make([][]float32, n)
		b.kept = make([][]float32, n)
		b.kpack = make([][]float32, n)
		b.vpack = make([][]float32, n)
	}
	blocks := false
	for l := range m.Layers {
		for _, s := range hs {
			blocks = blocks || s.HasBlocks(l)
		}
	}
	for w := range b.scratch {
		b.scratch[w] = sized(b.scratch[w], min(queryBlock, T)*(p.p0+T))
		if blocks {
			b.kept[w] = sized(b.kept[w], min(queryBlock, T)*(p.p0+T))
		}
		b.kpack[w] = grown(b.kpack[w], kernels.PackedBLen(p.p0+T, in.HeadDim))
		b.vpack[w] = grown(b.vpack[w], kernels.PackedBLen(in.HeadDim, p.p0+T))
	}
	return p
}

// hook runs each sequence's hooks at pt on its part of data (N rows),
// shaped dims. The shape slice is built only when something is hooked
// there, so an unhooked point costs a branch per sequence.
func (p *pass) hook(pt hooks.Point, data []float32, dims ...int) {
	n := len(data) / p.B
	for b, hs := range p.hs {
		if hs.Has(pt) {
			hs.Run(pt, hooks.Tensor{Shape: append([]int(nil), dims...), Data: data[b*n : (b+1)*n]})
		}
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
	for r0 := 0; r0 < p.N; r0 += mlpRows {
		r1 := min(r0+mlpRows, p.N)
		p.mlp(&ly.MLP, p.out[r0*d:r1*d], p.xn[r0*d:r1*d], r1-r0)
	}
	ly.PostMLPNorm.Rows(p.out, p.out, d)
	p.hook(hooks.At(l, hooks.MLPOut), p.out, T, d)
	kernels.Axpy(1, p.out, p.x)
	p.hook(hooks.At(l, hooks.ResidPost), p.x, T, d)

	for i, v := range p.x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			r := i / d
			return fmt.Errorf("forward: layer %d: %sresidual stream holds %v at position %d, dimension %d", l, seqName(r/T, p.B), v, p.p0+r%T, i%d)
		}
	}
	return nil
}

// mlp writes the MLP of the n rows of xn to out.
func (p *pass) mlp(m *MLP, out, xn []float32, n int) {
	ff := m.intermediate()
	gate, up := p.gate[:n*ff], p.up[:n*ff]
	switch {
	case m.GateUp.Rows > 0:
		both := p.gate[:2*n*ff]
		kernels.MatMulT(both, xn, n, m.GateUp, p.threads)
		for i := 0; i < n; i++ {
			copy(up[i*ff:(i+1)*ff], both[(2*i+1)*ff:(2*i+2)*ff])
			copy(gate[i*ff:(i+1)*ff], both[2*i*ff:(2*i+1)*ff]) // row i ≤ 2i: no overlap ahead
		}
	case m.Gated:
		kernels.MatMulT(gate, xn, n, m.Gate, p.threads)
		kernels.MatMulT(up, xn, n, m.Up, p.threads)
	default:
		kernels.MatMulT(up, xn, n, m.Up, p.threads)
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
	kernels.MatMulT(out, up, n, m.Down, p.threads)
	addBias(out, m.DownBias)
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

// parallel calls f(worker, i) for i in [0, n) on the pass's threads.
func (p *pass) parallel(n int, f func(worker, i int)) { parallel(n, p.threads, f) }

// parallel calls f(worker, i) for i in [0, n) on up to workers goroutines,
// the kernels' persistent ones (which carry a memory fault to the caller).
func parallel(n, workers int, f func(worker, i int)) { kernels.Parallel(n, max(workers, 1), f) }
