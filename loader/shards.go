package loader

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// IndexFile and WeightsFile are the Hugging Face names of the weights.
const (
	WeightsFile = "model.safetensors"
	IndexFile   = "model.safetensors.index.json"
)

// shardOpener opens one shard named by the index; errors that mean "the file
// is not there" must wrap fs.ErrNotExist.
type shardOpener func(shard string) (*Tensors, error)

// openSharded validates an index (model.safetensors.index.json) and opens its
// shards into one Tensors: every shard path stays inside the checkpoint
// directory, every shard exists, and every tensor is in exactly the shard the
// index names and in no other.
func openSharded(indexPath string, index []byte, open shardOpener) (*Tensors, error) {
	members, err := decodeObject(index)
	if err != nil {
		return nil, fmt.Errorf("loader: %s: %w", indexPath, err)
	}
	var wm []member
	found := false
	for _, m := range members {
		if m.key != "weight_map" {
			continue
		}
		found = true
		if wm, err = decodeObject(m.raw); err != nil {
			return nil, fmt.Errorf("loader: %s: weight_map: %w", indexPath, err)
		}
	}
	if !found {
		return nil, fmt.Errorf("loader: %s: no \"weight_map\" object", indexPath)
	}
	if len(wm) == 0 {
		return nil, fmt.Errorf("loader: %s: weight_map is empty", indexPath)
	}
	want := make(map[string]string, len(wm)) // tensor → shard
	byShard := make(map[string][]string)
	for _, m := range wm {
		var shard string
		if err := jsonString(m.raw, &shard); err != nil {
			return nil, fmt.Errorf("loader: %s: weight_map[%q]: %s is not a shard file name", indexPath, m.key, clip(m.raw))
		}
		if !filepath.IsLocal(filepath.FromSlash(shard)) || strings.Contains(shard, `\`) {
			return nil, fmt.Errorf("loader: %s: weight_map[%q]: shard path %q leaves the checkpoint directory (want a file name inside it)", indexPath, m.key, shard)
		}
		want[m.key] = shard
		byShard[shard] = append(byShard[shard], m.key)
	}
	shards := make([]string, 0, len(byShard))
	for s := range byShard {
		shards = append(shards, s)
	}
	sort.Strings(shards)

	all := newTensors()
	cleanup := func() { all.Close() }
	where := make(map[string]string) // tensor → shard holding it
	for _, shard := range shards {
		ts, err := open(shard)
		if err != nil {
			cleanup()
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("loader: %s: shard %q, named for %d tensors (e.g. %q), is missing: %w",
					indexPath, shard, len(byShard[shard]), byShard[shard][0], err)
			}
			return nil, err
		}
		all.unmap = append(all.unmap, ts.unmap...)
		all.maps = append(all.maps, ts.maps...)
		file := ts.files[0]
		var tensors []*Tensor
		for _, name := range ts.names {
			if other, dup := where[name]; dup {
				cleanup()
				return nil, fmt.Errorf("loader: %s: tensor %q is in two shards, %q and %q", indexPath, name, other, shard)
			}
			where[name] = shard
			tensors = append(tensors, ts.byName[name])
		}
		all.add(file, tensors, ts.metadata)
	}
	for _, shard := range shards {
		for _, name := range byShard[shard] {
			if got, ok := where[name]; !ok {
				cleanup()
				return nil, fmt.Errorf("loader: %s: the index puts tensor %q in shard %q, which does not hold it", indexPath, name, shard)
			} else if got != shard {
				cleanup()
				return nil, fmt.Errorf("loader: %s: the index puts tensor %q in shard %q, but it is in shard %q", indexPath, name, shard, got)
			}
		}
	}
	for _, name := range all.names {
		if _, ok := want[name]; !ok {
			cleanup()
			return nil, fmt.Errorf("loader: %s: tensor %q in shard %q is not listed in the index's weight_map", indexPath, name, where[name])
		}
	}
	return all, nil
}
