package lab

import (
	"slices"
	"testing"
)

func TestParseSeeds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []uint64
	}{
		{"42", []uint64{42}},
		{"1-3, 7", []uint64{1, 2, 3, 7}},
		{"5,1", []uint64{5, 1}},
	} {
		got, err := ParseSeeds(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseSeeds(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "0", "3-1", "a", "1,1", "1-2,2", "1-5000", "-3"} {
		if _, err := ParseSeeds(bad); err == nil {
			t.Errorf("ParseSeeds(%q): no error", bad)
		}
	}
}

func TestCheckpointSteps(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		steps int
		want  []int
	}{
		{"log", 30, []int{0, 1, 2, 5, 10, 20, 30}},
		{"none", 30, nil},
		{"3, 9", 30, []int{3, 9}},
	} {
		got, err := CheckpointSteps(tc.spec, tc.steps)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("CheckpointSteps(%q, %d) = %v, %v; want %v", tc.spec, tc.steps, got, err, tc.want)
		}
	}
	for _, bad := range []string{"31", "-1", "x", "1,,2"} {
		if _, err := CheckpointSteps(bad, 30); err == nil {
			t.Errorf("CheckpointSteps(%q, 30): no error", bad)
		}
	}
}
