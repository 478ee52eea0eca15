package lab

import "testing"

// TestStepRange checks how a seed study names the step of a check: the
// common step, or the range when the seeds measured it at different steps
// (an sgd threshold is reached when each seed reaches it).
func TestStepRange(t *testing.T) {
	for _, tc := range []struct {
		step  int
		steps []int
		want  string
	}{
		{600, nil, "600"},
		{600, []int{600, 600, 600}, "600"},
		{-1, []int{3850, 3800, 4050}, "3800-4050"},
		{0, []int{0}, "0"},
	} {
		sc := SeedCheck{Check: Check{Step: tc.step}, Steps: tc.steps}
		if got := sc.StepRange(); got != tc.want {
			t.Errorf("StepRange of step %d, steps %v = %q, want %q", tc.step, tc.steps, got, tc.want)
		}
	}
}
