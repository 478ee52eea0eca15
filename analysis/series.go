package analysis

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sinkscope/sinkscope"
	"github.com/sinkscope/sinkscope/loader"
	"github.com/sinkscope/sinkscope/metrics"
)

// Checkpoint is one checkpoint of a training series.
type Checkpoint struct {
	Arg      string           // what to open: a directory or org/name@revision
	Revision string           // its name, from which the step is read
	Step     metrics.StepInfo // its place in training
}

// Label names the checkpoint's place in the series: "step 500", "stage 2
// step 500", or its name when it has no step.
func (c Checkpoint) Label() string {
	if c.Step.Step < 0 {
		return c.Revision
	}
	s := fmt.Sprintf("step %d", c.Step.Step)
	if c.Step.Stage > 0 {
		s = fmt.Sprintf("stage %d %s", c.Step.Stage, s)
	}
	return s
}

// SeriesOf lists checkpoints given as model arguments, in step order (see
// metrics.OrderByStep): a directory is named by its base name, a hub model
// by its revision.
func SeriesOf(args []string) []Checkpoint {
	var out []Checkpoint
	for _, a := range args {
		rev := filepath.Base(filepath.Clean(a))
		if _, err := os.Stat(a); err != nil {
			if _, r, ok := loader.ParseModelID(a); ok {
				rev = r
			}
		}
		out = append(out, Checkpoint{Arg: a, Revision: rev})
	}
	return ordered(out)
}

// SeriesDir lists the checkpoint directories inside dir (those holding a
// config.json; hidden entries, files and other directories are skipped), in
// step order. A directory whose name has a step but no config.json is an
// error.
func SeriesDir(dir string) ([]Checkpoint, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("diff: --series: %w", err)
	}
	var out []Checkpoint
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if st, err := os.Stat(p); err != nil || !st.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue // a file, a dangling link or a hidden entry (such as a cache)
		}
		if _, err := os.Stat(filepath.Join(p, loader.ConfigFile)); err != nil {
			if metrics.ParseStep(e.Name()).Step >= 0 {
				return nil, fmt.Errorf("diff: --series %s: checkpoint %s has no %s", dir, e.Name(), loader.ConfigFile)
			}
			continue // not a checkpoint
		}
		out = append(out, Checkpoint{Arg: p, Revision: e.Name()})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("diff: --series %s holds no checkpoint directories (subdirectories with %s)", dir, loader.ConfigFile)
	}
	return ordered(out), nil
}

// SeriesHub lists the cached revisions of a Hugging Face model matching a
// glob, spec "org/name@GLOB", in step order.
func SeriesHub(spec string) ([]Checkpoint, error) {
	repo, glob, ok := loader.ParseModelID(spec)
	if !ok || !strings.Contains(spec, "@") {
		return nil, OptionError{fmt.Errorf("--revisions %q: want org/name@GLOB, e.g. allenai/OLMo-7B-0424-hf@step*", spec)}
	}
	if _, err := filepath.Match(glob, ""); err != nil {
		return nil, OptionError{fmt.Errorf("--revisions %q: bad glob %q: %v", spec, glob, err)}
	}
	refs, err := loader.HubRevisions(repo, glob)
	if err != nil {
		return nil, fmt.Errorf("diff: --revisions: %w", err)
	}
	var out []Checkpoint
	for _, r := range refs {
		out = append(out, Checkpoint{Arg: repo + "@" + r, Revision: r})
	}
	return ordered(out), nil
}

// ordered sorts checkpoints by the step in their names.
func ordered(cs []Checkpoint) []Checkpoint {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Revision
	}
	out := make([]Checkpoint, len(cs))
	for i, j := range metrics.OrderByStep(names) {
		out[i] = cs[j]
		out[i].Step = metrics.ParseStep(cs[j].Revision)
	}
	return out
}

// Shape is what every checkpoint of a series must share.
type Shape struct {
	Arch          string
	Layers, Heads int
}

// CheckSeries reads every checkpoint's config before any compute: each must
// exist and all must share one architecture and head layout, which it
// returns.
func CheckSeries(cs []Checkpoint) (Shape, error) {
	var ref Shape
	for i, c := range cs {
		s, err := shapeOf(c.Arg)
		if err != nil {
			return Shape{}, fmt.Errorf("diff: checkpoint %s: %w", c.Arg, err)
		}
		if i == 0 {
			ref = s
			continue
		}
		if s != ref {
			return Shape{}, fmt.Errorf("diff: the architecture changes within the series: %s is %s, but %s is %s",
				cs[0].Arg, ref, c.Arg, s)
		}
	}
	return ref, nil
}

// String reads "LlamaForCausalLM with 5 layers × 8 heads".
func (s Shape) String() string {
	return fmt.Sprintf("%s with %s × %s", s.Arch, Plural(s.Layers, "layer"), Plural(s.Heads, "head"))
}

func shapeOf(arg string) (Shape, error) {
	ck, err := sinkscope.OpenCheckpoint(arg)
	if err != nil {
		return Shape{}, err
	}
	defer ck.Close()
	return Shape{ck.Config.Architecture, ck.Config.NumLayers, ck.Config.NumHeads}, nil
}

// Plural writes n and word, with an s unless n is 1.
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
