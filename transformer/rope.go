package transformer

import "github.com/sinkscope/sinkscope/internal/kernels"

// ropeKey names one RoPE table: a rotary embedding, with its long factors or
// not.
type ropeKey struct {
	r    *Rope
	long bool
}

// ropeTab is the cos and sin table [positions, Dims/2] of one ropeKey for the
// longest pass so far.
type ropeTab struct {
	cos, sin []float32
}

// rope returns r's cos and sin tables for a pass over positions 0..n-1. A
// table's row depends only on its position (and, for LongRoPE, on whether n
// exceeds LongAfter), so the table of the longest pass so far serves every
// shorter one; the slices are shared and read-only.
func (m *Decoder) rope(r *Rope, n int) (cos, sin []float32) {
	key := ropeKey{r: r, long: r.LongInvFreq != nil && n > r.LongAfter}
	inv := r.InvFreq
	if key.long {
		inv = r.LongInvFreq
	}
	h := len(inv)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tables == nil {
		m.tables = make(map[ropeKey]*ropeTab)
	}
	t := m.tables[key]
	if t == nil || len(t.cos) < n*h {
		t = &ropeTab{}
		t.cos, t.sin = ropeTable(inv, n, r.Factor)
		m.tables[key] = t
	}
	return t.cos[:n*h], t.sin[:n*h]
}

// ropeTable is kernels.RopeTable with cos and sin multiplied by factor
// (LongRoPE's attention factor; 0 means 1), in float32 as torch does.
func ropeTable(inv []float32, n int, factor float32) (cos, sin []float32) {
	cos, sin = kernels.RopeTable(inv, n)
	if factor != 0 && factor != 1 {
		for i := range cos {
			cos[i] *= factor
			sin[i] *= factor
		}
	}
	return cos, sin
}

// crossesLong reports whether extending a state of n0 tokens by n more moves
// some layer's LongRoPE from its short to its long factors, which changes the
// rotation of every cached key.
func (m *Decoder) crossesLong(n0, n int) bool {
	for i := range m.Layers {
		r := m.Layers[i].Attn.Rope
		if r != nil && r.LongInvFreq != nil && n0 > 0 && n0 <= r.LongAfter && n0+n > r.LongAfter {
			return true
		}
	}
	return false
}
