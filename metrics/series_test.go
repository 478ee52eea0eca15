package metrics

import (
	"reflect"
	"testing"
)

func TestParseStep(t *testing.T) {
	for _, c := range []struct {
		name string
		want StepInfo
	}{
		{"step1000-tokens4M", StepInfo{0, 1000, 4_000_000}},
		{"step147500-tokens618B", StepInfo{0, 147500, 618_000_000_000}},
		{"step449000-tokens1882B", StepInfo{0, 449000, 1_882_000_000_000}},
		{"stage1-step5000-tokens21B", StepInfo{1, 5000, 21_000_000_000}},
		{"stage2-ingredient1-step11931-tokens50B", StepInfo{2, 11931, 50_000_000_000}},
		{"step0-tokens0B", StepInfo{0, 0, 0}},
		{"step_1000", StepInfo{0, 1000, -1}},
		{"step-000300", StepInfo{0, 300, -1}},
		{"runs/a/step-003000", StepInfo{0, 3000, -1}},
		{"step2000-tokens2.5B", StepInfo{0, 2000, 2_500_000_000}},
		{"main", StepInfo{0, -1, -1}},
		{"laststep", StepInfo{0, -1, -1}}, // "step" inside a word is not a step
		{"model-final", StepInfo{0, -1, -1}},
	} {
		if got := ParseStep(c.name); got != c.want {
			t.Errorf("ParseStep(%q) = %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestOrderByStep(t *testing.T) {
	names := []string{"main", "step1000-tokens4M", "stage2-step10-tokens1B", "step500-tokens2M", "final", "step_20000", "stage1-step2000-tokens8B"}
	got := OrderByStep(names)
	var ordered []string
	for _, i := range got {
		ordered = append(ordered, names[i])
	}
	// Stage 0 (no stage) first, then stage 1, stage 2; names without a step last, by name.
	want := []string{"step500-tokens2M", "step1000-tokens4M", "step_20000", "stage1-step2000-tokens8B", "stage2-step10-tokens1B", "final", "main"}
	if !reflect.DeepEqual(ordered, want) {
		t.Errorf("order %v, want %v", ordered, want)
	}
}

func TestTransitions(t *testing.T) {
	A, M, D, U := Active, Mixed, Dormant, Unknown
	// 4 checkpoints × (1 layer × 4 heads), layer-major.
	classes := [][]Class{
		{A, D, A, D},
		{M, A, D, D},
		{D, D, A, D},
		{D, D, D, U},
	}
	got := Transitions(classes, 2)
	want := []struct {
		head Head
		seq  []Class
		from int
	}{
		{Head{0, 0}, []Class{A, M, D, D}, 2},  // dormant from the third checkpoint on
		{Head{0, 1}, []Class{D, A, D, D}, 2},  // was dormant, lost it, regained it: the last run counts
		{Head{1, 0}, []Class{A, D, A, D}, 3},  // only the last checkpoint
		{Head{1, 1}, []Class{D, D, D, U}, -1}, // not dormant at the end
	}
	if len(got) != len(want) {
		t.Fatalf("%d transitions, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Head != w.head || !reflect.DeepEqual(g.Classes, w.seq) || g.DormantFrom != w.from {
			t.Errorf("head %d: got %v %v from %d, want %v %v from %d", i, g.Head, g.Classes, g.DormantFrom, w.head, w.seq, w.from)
		}
	}
	all := Transitions([][]Class{{D}, {D}}, 1)
	if all[0].DormantFrom != 0 {
		t.Errorf("dormant throughout: DormantFrom %d, want 0", all[0].DormantFrom)
	}
	if Transitions(nil, 4) != nil {
		t.Error("no checkpoints: want nil")
	}
}
