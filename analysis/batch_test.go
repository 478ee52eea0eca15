package analysis_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/metrics"
)

// TestBatchedHeadsEqualUnbatched: the head analysis with sequences batched
// (the default) reports exactly what it reports with every sequence alone,
// ablations and zeroing curves included, on domains with sequences of several
// lengths (so that batches break where the length changes).
func TestBatchedHeadsEqualUnbatched(t *testing.T) {
	m, err := analysis.Open(fixtures.Path(t, "hf/stories260K_hf"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	src, err := analysis.Inputs{SeqLen: 24, MaxSeqs: 7, Seed: 3}.Read()
	if err != nil {
		t.Fatal(err)
	}
	doms, err := src.For(m)
	if err != nil {
		t.Fatal(err)
	}
	// A domain of mixed lengths, one of them with a query mask.
	mixed := [][]int{{1, 5, 9, 12}, {1, 7, 7, 3}, {1, 2, 3, 4, 5, 6}, {1, 9, 8}, {1, 9, 8, 100}}
	doms = append(doms, analysis.Domain{Name: "mixed", Len: len(mixed), Each: func(fn func(metrics.Sequence) error) error {
		for i, ids := range mixed {
			s := metrics.Sequence{IDs: ids}
			if i == 1 {
				s.Queries = []bool{true, false, true, true}
			}
			if err := fn(s); err != nil {
				return err
			}
		}
		return nil
	}})
	opts := analysis.HeadOptions{
		Ablate:  []metrics.Head{{Layer: 0, Head: 1}, {Layer: 4, Head: 7}},
		Zeroing: &analysis.Zeroing{Rules: []metrics.Rule{metrics.RuleFirstAttn}, Fracs: []float64{0, 0.1, 0.5}},
	}
	run := func(rows int) *analysis.Report {
		o := opts
		o.BatchRows = rows
		rep, err := analysis.Heads(m, doms, o)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	one, batched := run(1), run(0)
	if len(one.Domains) != 3 || one.Domains[0].Result.NSeqs != 7 {
		t.Fatalf("%d domains, the first of %d sequences; want 3 and 7", len(one.Domains), one.Domains[0].Result.NSeqs)
	}
	if !reflect.DeepEqual(nanFree(one), nanFree(batched)) {
		t.Error("batched report differs from the one-sequence-at-a-time report")
	}
}

// nanFree renders r with NaNs replaced, so that DeepEqual compares bits.
func nanFree(r *analysis.Report) any {
	var walk func(v reflect.Value) any
	walk = func(v reflect.Value) any {
		switch v.Kind() {
		case reflect.Float64:
			if math.IsNaN(v.Float()) {
				return "NaN"
			}
			return math.Float64bits(v.Float())
		case reflect.Struct:
			out := map[string]any{}
			for i := 0; i < v.NumField(); i++ {
				if v.Type().Field(i).IsExported() {
					out[v.Type().Field(i).Name] = walk(v.Field(i))
				}
			}
			return out
		case reflect.Slice, reflect.Array:
			out := []any{}
			for i := 0; i < v.Len(); i++ {
				out = append(out, walk(v.Index(i)))
			}
			return out
		case reflect.Pointer, reflect.Interface:
			if v.IsNil() {
				return nil
			}
			return walk(v.Elem())
		case reflect.Map:
			out := map[any]any{}
			for _, k := range v.MapKeys() {
				out[k.Interface()] = walk(v.MapIndex(k))
			}
			return out
		case reflect.Func:
			return nil
		}
		return v.Interface()
	}
	return walk(reflect.ValueOf(r))
}

// TestHeadsEqualOnAnyThreadCount: the head analysis reports the same bits
// on 1 thread and on 3, the attention's blocks and the per-head norms being
// spread over the threads, on sequences longer than one query block.
func TestHeadsEqualOnAnyThreadCount(t *testing.T) {
	src, err := analysis.Inputs{SeqLen: 200, MaxSeqs: 3, Seed: 5}.Read()
	if err != nil {
		t.Fatal(err)
	}
	run := func(threads int) *analysis.Report {
		m, err := analysis.Open(fixtures.Path(t, "hf/stories260K_hf"), threads)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		doms, err := src.For(m)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := analysis.Heads(m, doms, analysis.HeadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	one, three := run(1), run(3)
	if n := one.Domains[0].Result.NSeqs; n != 3 {
		t.Fatalf("%d sequences in the first domain, want 3", n)
	}
	if !reflect.DeepEqual(nanFree(one), nanFree(three)) {
		t.Error("the report on 3 threads differs from the one on 1 thread")
	}
}
