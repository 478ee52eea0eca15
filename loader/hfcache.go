package loader

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// HubCacheDir returns the Hugging Face hub cache directory: $HF_HUB_CACHE,
// else $HF_HOME/hub, else ~/.cache/huggingface/hub (the huggingface_hub
// rules).
func HubCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("HF_HOME"); d != "" {
		return filepath.Join(d, "hub")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".cache", "huggingface", "hub")
	}
	return filepath.Join(home, ".cache", "huggingface", "hub")
}

// repoID matches "org/name" with an optional "@revision".
var repoID = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]*)/([A-Za-z0-9][A-Za-z0-9._-]*)(?:@(.+))?$`)

// ParseModelID splits "org/name[@revision]"; revision defaults to "main".
func ParseModelID(arg string) (repo, revision string, ok bool) {
	m := repoID.FindStringSubmatch(arg)
	if m == nil {
		return "", "", false
	}
	revision = m[3]
	if revision == "" {
		revision = "main"
	}
	return m[1] + "/" + m[2], revision, true
}

// Resolve turns a model argument into a checkpoint directory: an existing
// directory is returned as it is; "org/name[@revision]" is looked up in the
// Hugging Face cache (HubCacheDir): models--org--name/refs/<revision> holds a
// commit hash naming snapshots/<hash>/, and a revision may also be a commit
// hash directly. Nothing is downloaded: the error says what is missing and how
// to get it.
func Resolve(arg string) (string, error) {
	dir, _, err := resolve(arg)
	return dir, err
}

// resolve is Resolve that also returns, for a cached model, how to download
// what is missing.
func resolve(arg string) (dir, hint string, err error) {
	if st, err := os.Stat(arg); err == nil {
		if !st.IsDir() {
			return "", "", fmt.Errorf("loader: model %q is a file; want a checkpoint directory (config.json + model.safetensors) or org/name[@revision]", arg)
		}
		return arg, "", nil
	}
	repo, rev, ok := ParseModelID(arg)
	if !ok {
		return "", "", fmt.Errorf("loader: model %q: no such directory, and not an org/name[@revision] model id", arg)
	}
	cache := HubCacheDir()
	hint = fmt.Sprintf("to get it: huggingface-cli download %s --revision %s (sinkscope never downloads)", repo, rev)
	repoDir := HubRepoDir(repo)
	if st, err := os.Stat(repoDir); err != nil || !st.IsDir() {
		where := fmt.Sprintf("the Hugging Face cache %s has no %s", cache, filepath.Base(repoDir))
		if _, err := os.Stat(cache); err != nil {
			where = fmt.Sprintf("the Hugging Face cache %s does not exist (set HF_HUB_CACHE or HF_HOME to use another)", cache)
		} else if cached := cachedModels(cache); len(cached) > 0 {
			where += " (cached: " + strings.Join(limit(cached, 10), ", ") + ")"
		}
		return "", "", fmt.Errorf("loader: model %q: no such directory, and %s; %s", arg, where, hint)
	}
	if !filepath.IsLocal(filepath.FromSlash(rev)) {
		return "", "", fmt.Errorf("loader: model %q: revision %q is not a valid ref or commit", arg, rev)
	}
	sha := rev
	if b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(rev))); err == nil {
		sha = strings.TrimSpace(string(b))
		if !filepath.IsLocal(sha) || sha == "" {
			return "", "", fmt.Errorf("loader: model %q: %s holds %q, not a commit hash", arg, filepath.Join(repoDir, "refs", rev), sha)
		}
	}
	snap := filepath.Join(repoDir, "snapshots", sha)
	if st, err := os.Stat(snap); err != nil || !st.IsDir() {
		refs, snaps := Revisions(repoDir)
		what := fmt.Sprintf("revision %q is not in the cache", rev)
		if sha != rev {
			what = fmt.Sprintf("refs/%s points at commit %s, whose snapshot %s is missing", rev, sha, snap)
		}
		return "", "", fmt.Errorf("loader: model %s: %s (cached refs: %s; snapshots: %s); %s",
			repo, what, orNone(refs), orNone(snaps), hint)
	}
	return snap, hint, nil
}

// HubRepoDir returns where the Hugging Face cache keeps repository
// org/name: HubCacheDir()/models--org--name.
func HubRepoDir(repo string) string {
	return filepath.Join(HubCacheDir(), "models--"+strings.ReplaceAll(repo, "/", "--"))
}

// HubRevisions lists the cached refs of repository org/name whose names
// match glob (path.Match syntax, e.g. "step*"), sorted. The error says when
// the repository is not cached or nothing matches, and which refs are.
func HubRevisions(repo, glob string) ([]string, error) {
	if _, err := path.Match(glob, ""); err != nil {
		return nil, fmt.Errorf("loader: revisions of %s: bad glob %q: %v", repo, glob, err)
	}
	dir := HubRepoDir(repo)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("loader: the Hugging Face cache %s has no %s (set HF_HUB_CACHE or HF_HOME to use another; sinkscope never downloads)", HubCacheDir(), repo)
	}
	refs, _ := Revisions(dir)
	var out []string
	for _, r := range refs {
		if ok, _ := path.Match(glob, r); ok {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loader: no cached revision of %s matches %q (cached refs: %s)", repo, glob, orNone(refs))
	}
	return out, nil
}

// Revisions lists a cached repository's refs (e.g. "main", "step1000") and
// snapshot commit hashes, each sorted. repoDir is its models--org--name
// directory.
func Revisions(repoDir string) (refs, snapshots []string) {
	refsDir := filepath.Join(repoDir, "refs")
	filepath.WalkDir(refsDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if r, err := filepath.Rel(refsDir, p); err == nil {
				refs = append(refs, filepath.ToSlash(r))
			}
		}
		return nil
	})
	ents, _ := os.ReadDir(filepath.Join(repoDir, "snapshots"))
	for _, e := range ents {
		if e.IsDir() {
			snapshots = append(snapshots, e.Name())
		}
	}
	sort.Strings(refs)
	sort.Strings(snapshots)
	return refs, snapshots
}

// cachedModels lists the org/name of the models in a cache directory.
func cachedModels(cache string) []string {
	ents, _ := os.ReadDir(cache)
	var out []string
	for _, e := range ents {
		if name, ok := strings.CutPrefix(e.Name(), "models--"); ok && e.IsDir() {
			out = append(out, strings.Replace(name, "--", "/", 1))
		}
	}
	sort.Strings(out)
	return out
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(limit(s, 10), ", ")
}
