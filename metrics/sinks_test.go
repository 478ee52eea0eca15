package metrics

import (
	"bytes"
	"encoding/gob"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestTopTwoCandidates(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		xs   []float64
		want [2]int
	}{
		{[]float64{0.1, 0.5, 0.3, 0.9}, [2]int{1, 0}},    // key 3 is no candidate
		{[]float64{0.1, 0.5, 0.3, 0.9, 2}, [2]int{1, 2}}, // ⌈5/2⌉ = 3 candidates
		{[]float64{0.2, 0.2, 0.2}, [2]int{0, 1}},         // ties go to the smaller key
		{[]float64{nan, 0.4, 0.1, 1, 1}, [2]int{1, 2}},
		{[]float64{0.3, 0.1, 0.7, 0.2, 0.5, 0.6}, [2]int{2, 0}},
		{[]float64{0.7}, [2]int{0, -1}},
		{[]float64{nan, nan}, [2]int{-1, -1}},
		{nil, [2]int{-1, -1}},
	} {
		if got := topTwo(tc.xs); got != tc.want {
			t.Errorf("topTwo(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

func TestSinkRates(t *testing.T) {
	heads := [][]float64{
		{0.9, 0.05, 0.05, 0.99}, // top sink key 0 (key 3 is no candidate)
		{0.2, 0.6, 0.1, 0.1},    // top sink key 1
		{0.35, 0.1, 0.9, 0},     // top sink key 0
		nil,                     // no sequence
	}
	d := &DomainResult{Layers: 1, Heads: len(heads)}
	for h, m := range heads {
		d.HeadRes = append(d.HeadRes, HeadResult{Head: h, AttnMass: m, Sinks: topTwo(m)})
	}
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"SinkRate(0.3)", d.SinkRate(0.3), 0.5},
		{"SinkRate(0.5)", d.SinkRate(0.5), 0.25},
		{"SinkRate(0.8)", d.SinkRate(0.8), 0.25},
		{"SinkRateTop(0.3)", d.SinkRateTop(0.3), 0.75},
		{"SinkRateTop(0.5)", d.SinkRateTop(0.5), 0.5},
		{"SinkRateTop(0.8)", d.SinkRateTop(0.8), 0.25},
		{"SinkRateTop(0.95)", d.SinkRateTop(0.95), 0},
		{"TopNotFirst", d.TopNotFirst(), 0.25},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %g, want %g", tc.name, tc.got, tc.want)
		}
	}
	var empty DomainResult
	if !math.IsNaN(empty.SinkRateTop(0.3)) || !math.IsNaN(empty.TopNotFirst()) || !math.IsNaN(empty.SinkRate(0.3)) {
		t.Error("sink rates of a domain without heads: want NaN")
	}
}

// TestSinkTokens counts the tokens at the top two candidates of the mean over
// heads of attn_mass, on three sequences of two heads built by hand.
func TestSinkTokens(t *testing.T) {
	nan := math.NaN()
	stage := func(masses ...[]float64) []headStage {
		out := make([]headStage, len(masses))
		for i, m := range masses {
			out[i].mass = m
		}
		return out
	}
	var st sinkTokens
	// Means (0.4, 0.4 | ...): a tie, key 0 first.
	st.add(Sequence{IDs: []int{5, 7, 9, 11}}, stage([]float64{0.6, 0.3, 0.1, 1}, []float64{0.2, 0.5, 0.3, 1}))
	// Means (0.1, 0.2, 0.5 | ...), NaN left out of the mean: keys 2, 1.
	st.add(Sequence{IDs: []int{5, 8, 7, 1, 2}}, stage([]float64{0.1, 0.2, 0.6, 0.9, 1}, []float64{0.1, nan, 0.4, 0.9, 1}))
	// Means (0.8, 0.2 | 1): keys 0, 1.
	st.add(Sequence{IDs: []int{3, 7, 9}}, stage([]float64{0.9, 0.1, 1}, []float64{0.7, 0.3, 1}))
	// No attention seen: nothing counted.
	st.add(Sequence{IDs: []int{4, 4}}, stage([]float64{nan, nan}, []float64{nan, nan}))
	want := [2][]TokenCount{
		{{ID: 3, Count: 1}, {ID: 5, Count: 1}, {ID: 7, Count: 1}},
		{{ID: 7, Count: 2}, {ID: 8, Count: 1}},
	}
	if got := st.result(); !reflect.DeepEqual(got, want) {
		t.Errorf("sink tokens %v, want %v", got, want)
	}
}

// TestSinkTokensOfBiasedModel: half the heads of the fake model put nearly
// all attention on key 0, so token 3, always at position 0, is every
// sequence's top sink. Two runs give byte-identical gob encodings that decode
// to the same counts.
func TestSinkTokensOfBiasedModel(t *testing.T) {
	f := newFakeModel(3, 2, 4, 4, 4, 8, 16, 12)
	run := func() DomainResult {
		acc, err := NewAccumulator(f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ids := range randomIDs(rand.New(rand.NewPCG(4, 5)), 6, 20, 16) {
			ids[0] = 3
			if err := acc.Add(Sequence{IDs: ids}); err != nil {
				t.Fatal(err)
			}
		}
		return acc.Result()
	}
	d := run()
	if want := []TokenCount{{ID: 3, Count: 6}}; !reflect.DeepEqual(d.SinkTokens[0], want) {
		t.Errorf("rank-1 sink tokens %v, want %v", d.SinkTokens[0], want)
	}
	n := 0
	for _, c := range d.SinkTokens[1] {
		n += c.Count
	}
	if n != 6 {
		t.Errorf("rank-2 sink tokens %v count %d sequences, want 6", d.SinkTokens[1], n)
	}
	var a, b bytes.Buffer
	if err := gob.NewEncoder(&a).Encode(d); err != nil {
		t.Fatal(err)
	}
	d2 := run()
	if err := gob.NewEncoder(&b).Encode(d2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two runs over the same sequences encode differently")
	}
	var back DomainResult
	if err := gob.NewDecoder(&a).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.SinkTokens, d.SinkTokens) {
		t.Errorf("gob round trip: sink tokens %v, want %v", back.SinkTokens, d.SinkTokens)
	}
}
