package report

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/metrics"
)

// Levels is the number of steps of the 8-bit quantisation: an attention
// probability p is stored as q = round(Levels·p) and read back as q/Levels.
const Levels = 255

// SampleSpec is a sample sequence to run through the model.
type SampleSpec struct {
	Name string // where it comes from, e.g. "prose #1" or "--sample-ids"
	IDs  []int  // used exactly as given
}

// Sample is what the head and token views show of one sequence. Blobs are
// the sequence's binary arrays, kept out of the page's JSON.
type Sample struct {
	Name   string   `json:"name"`
	IDs    []int    `json:"ids"`
	Tokens []string `json:"tokens"`
	T      int      `json:"t"`
	// PatternHeads lists (layer-major) the heads whose patterns are
	// stored, ascending; blob "patterns" holds their lower triangles in
	// that order, row by row (query i: keys 0..i), one byte per cell.
	PatternHeads []int `json:"pattern_heads"`
	// ValueScale[head] is the head's largest ‖W_O v_k‖ on the sequence;
	// blob "value_norm" holds [head][key] bytes q, each norm ≈ q/255 × scale.
	ValueScale []Num `json:"value_scale"`
	// Sinks[head] are the head's two top sinks (metrics.TopSinks) with
	// their attention mass: key, mass, key, mass (key −1 when none).
	Sinks [][4]Num `json:"sinks"`
	// Extreme[layer] lists the extreme positions (metrics.TokenReport.Extreme).
	Extreme [][]int `json:"extreme"`
	// Blob "tokens" holds five float32 arrays [layer][position], little
	// endian, one after the other: resid_norm, attn_received, value_norm
	// (mean over heads), massive_max (largest |x|), massive (count).
	blobs map[string][]byte
}

// Capture runs m once on each sample, keeping the patterns of the heads
// (layer-major indices) that want reports true.
func Capture(m *analysis.Model, specs []SampleSpec, want func(sample, head int) bool) ([]Sample, error) {
	info := m.Info()
	var out []Sample
	for si, sp := range specs {
		T := len(sp.IDs)
		s := Sample{Name: sp.Name, IDs: append([]int(nil), sp.IDs...), T: T, blobs: map[string][]byte{}}
		for _, id := range sp.IDs {
			s.Tokens = append(s.Tokens, m.TokenName(id))
		}
		H := info.Heads
		tri := T * (T + 1) / 2
		for i := 0; i < info.Layers*H; i++ {
			if want(si, i) {
				s.PatternHeads = append(s.PatternHeads, i)
			}
		}
		pat := make([]byte, len(s.PatternHeads)*tri)
		slot := map[int]int{}
		for j, i := range s.PatternHeads {
			slot[i] = j
		}
		extra := func(hs *hooks.Set) {
			for l := 0; l < info.Layers; l++ {
				hs.Add(hooks.At(l, hooks.Pattern), func(_ hooks.Point, t hooks.Tensor) {
					if len(t.Data) != H*T*T {
						return // metrics.InspectWith reports the shape
					}
					for h := 0; h < H; h++ {
						j, ok := slot[l*H+h]
						if !ok {
							continue
						}
						dst := pat[j*tri : (j+1)*tri]
						a := t.Data[h*T*T : (h+1)*T*T]
						o := 0
						for q := 0; q < T; q++ {
							for _, p := range a[q*T : q*T+q+1] {
								dst[o] = quantise(p)
								o++
							}
						}
					}
				})
			}
		}
		r, err := metrics.InspectWith(m.Model, sp.IDs, extra)
		if err != nil {
			return nil, fmt.Errorf("report: sample %q: %w", sp.Name, err)
		}
		s.blobs["patterns"] = pat
		s.fill(r)
		out = append(out, s)
	}
	return out, nil
}

// quantise maps an attention probability to its byte.
func quantise(p float32) byte {
	switch {
	case !(p > 0): // also NaN
		return 0
	case p >= 1:
		return Levels
	}
	return byte(math.Round(float64(p) * Levels))
}

// fill sets the per-head and per-token parts from the token report.
func (s *Sample) fill(r *metrics.TokenReport) {
	T, L, H := r.T, r.Layers, r.Heads
	vn := make([]byte, L*H*T)
	s.ValueScale = make([]Num, L*H)
	s.Sinks = make([][4]Num, L*H)
	for i := 0; i < L*H; i++ {
		v := r.ValueNorm[i*T : (i+1)*T]
		scale := 0.0
		for _, x := range v {
			if x > scale {
				scale = x
			}
		}
		s.ValueScale[i] = Num(scale)
		for k, x := range v {
			if scale > 0 && x > 0 {
				vn[i*T+k] = byte(math.Round(math.Min(1, x/scale) * Levels))
			}
		}
		mass := r.AttnMass[i*T : (i+1)*T]
		top := metrics.TopSinks(mass)
		for j, k := range top {
			s.Sinks[i][2*j], s.Sinks[i][2*j+1] = Num(k), Num(math.NaN())
			if k >= 0 {
				s.Sinks[i][2*j+1] = Num(mass[k])
			}
		}
	}
	s.blobs["value_norm"] = vn
	tok := make([]byte, 0, 5*L*T*4)
	put := func(x float64) { tok = binary.LittleEndian.AppendUint32(tok, math.Float32bits(float32(x))) }
	for l := 0; l < L; l++ {
		for k := 0; k < T; k++ {
			put(r.ResidNorm[l*T+k])
		}
	}
	for l := 0; l < L; l++ {
		for k := 0; k < T; k++ {
			put(r.AttnReceived(l, k))
		}
	}
	for l := 0; l < L; l++ {
		for k := 0; k < T; k++ {
			put(r.MeanValueNorm(l, k))
		}
	}
	for l := 0; l < L; l++ {
		for k := 0; k < T; k++ {
			put(r.MaxAbs[l*T+k])
		}
	}
	for l := 0; l < L; l++ {
		for k := 0; k < T; k++ {
			put(float64(r.Massive[l*T+k]))
		}
	}
	s.blobs["tokens"] = tok
	s.Extreme = make([][]int, L)
	for l := 0; l < L; l++ {
		s.Extreme[l] = []int{}
		for k := 0; k < T; k++ {
			if r.Extreme(l, k) {
				s.Extreme[l] = append(s.Extreme[l], k)
			}
		}
	}
}
