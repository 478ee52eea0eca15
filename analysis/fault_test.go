package analysis_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/internal/fault"
	"github.com/sinkscope/sinkscope/internal/fixtures"
	"github.com/sinkscope/sinkscope/metrics"
)

// TestRunFaults damages the weights file of a checkpoint between the forward
// passes of one Run (after the first pass, from the progress callback): a
// truncated file is a memory fault reading the map, returned as an error
// naming the file and a tensor; a file rewritten with other bytes of the
// same size is caught by its changed modification time.
func TestRunFaults(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(path string) error
		want   []string
	}{
		{"truncated", func(p string) error { return os.Truncate(p, 4096) },
			[]string{"model.safetensors, tensor \"", "memory fault", "truncated while it was mapped"}},
		{"rewritten", func(p string) error {
			later := time.Now().Add(time.Hour)
			return os.Chtimes(p, later, later)
		}, []string{"model.safetensors changed while it was in use: modified"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := fixtures.Copy(t, "hf/stories260K_hf")
			weights := filepath.Join(dir, "model.safetensors")
			src, err := analysis.Inputs{IDs: []int{1, 403, 407, 261, 378, 425}, SeqLen: 6}.Read()
			if err != nil {
				t.Fatal(err)
			}
			passes := 0
			progress := func(string, int) (func(), func()) {
				return func() {
					passes++
					if passes == 1 {
						if err := c.damage(weights); err != nil {
							t.Fatal(err)
						}
					}
				}, func() {}
			}
			// Two ablations: three passes, the last two after the damage.
			opts := analysis.HeadOptions{Ablate: []metrics.Head{{Layer: 4, Head: 0}, {Layer: 4, Head: 1}}}
			rep, err := analysis.Run(dir, 2, src, opts, progress)
			if err == nil {
				t.Fatalf("Run on a damaged checkpoint: no error (%d passes, report %v)", passes, rep != nil)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), weights) {
				t.Errorf("error %q does not name %s", err, weights)
			}
			t.Log(err)
			var fe *fault.Error
			if isFault := errors.As(err, &fe); isFault != (c.name == "truncated") {
				t.Errorf("error %q: a fault.Error is %v, want %v", err, isFault, c.name == "truncated")
			}
		})
	}
}
