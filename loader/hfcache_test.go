package loader

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// buildCache lays out a Hugging Face hub cache in root holding org/tiny with
// two revisions, as huggingface_hub does: files of a snapshot are symlinks
// into blobs/, refs/<name> holds the commit hash. It returns the two hashes.
func buildCache(t *testing.T, root string) (mainSHA, stepSHA string) {
	t.Helper()
	repo := filepath.Join(root, "models--org--tiny")
	src := t.TempDir()
	writeTiny(t, src, 1, nil, nil)
	mainSHA = strings.Repeat("a1", 20)
	stepSHA = strings.Repeat("b2", 20)
	for i, sha := range []string{mainSHA, stepSHA} {
		snap := filepath.Join(repo, "snapshots", sha)
		if err := os.MkdirAll(snap, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{ConfigFile, WeightsFile} {
			b, err := os.ReadFile(filepath.Join(src, name))
			if err != nil {
				t.Fatal(err)
			}
			blob := filepath.Join(repo, "blobs", name+"-blob"+string(rune('0'+i)))
			os.MkdirAll(filepath.Dir(blob), 0o755)
			if err := os.WriteFile(blob, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join("..", "..", "blobs", filepath.Base(blob)), filepath.Join(snap, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.MkdirAll(filepath.Join(repo, "refs"), 0o755)
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(mainSHA), 0o644)
	os.WriteFile(filepath.Join(repo, "refs", "step1000"), []byte(stepSHA+"\n"), 0o644)
	return mainSHA, stepSHA
}

func TestHubCache(t *testing.T) {
	root := t.TempDir()
	mainSHA, stepSHA := buildCache(t, root)
	t.Setenv("HF_HUB_CACHE", root)
	t.Setenv("HF_HOME", "")
	repo := filepath.Join(root, "models--org--tiny")

	ok := []struct{ arg, snap string }{
		{"org/tiny", mainSHA},
		{"org/tiny@main", mainSHA},
		{"org/tiny@step1000", stepSHA},
		{"org/tiny@" + stepSHA, stepSHA},
	}
	for _, c := range ok {
		dir, err := Resolve(c.arg)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", c.arg, err)
		}
		if want := filepath.Join(repo, "snapshots", c.snap); dir != want {
			t.Errorf("Resolve(%q) = %s, want %s", c.arg, dir, want)
		}
		ck, err := Open(c.arg)
		if err != nil {
			t.Fatalf("Open(%q): %v", c.arg, err)
		}
		if ck.Config.HiddenSize != 8 || len(ck.Tensors.Names()) != 21 {
			t.Errorf("Open(%q): hidden %d, %d tensors; want 8, 21", c.arg, ck.Config.HiddenSize, len(ck.Tensors.Names()))
		}
		ck.Close()
	}

	// HF_HOME/hub is the fallback when HF_HUB_CACHE is unset.
	home := t.TempDir()
	buildCache(t, filepath.Join(home, "hub"))
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HF_HOME", home)
	if dir, err := Resolve("org/tiny"); err != nil || !strings.HasPrefix(dir, filepath.Join(home, "hub")) {
		t.Errorf("with HF_HOME: Resolve = %q, %v", dir, err)
	}
	t.Setenv("HF_HUB_CACHE", root)

	// Missing pieces: each error says what is missing and how to get it.
	os.Remove(filepath.Join(repo, "blobs", WeightsFile+"-blob1")) // step1000's weights: dangling symlink
	bad := []struct {
		arg  string
		want []string
	}{
		{"org/other", []string{`model "org/other"`, "has no models--org--other", "cached: org/tiny", "huggingface-cli download org/other --revision main"}},
		{"org/tiny@v2", []string{`revision "v2" is not in the cache`, "cached refs: main, step1000", "snapshots: " + mainSHA + ", " + stepSHA, "huggingface-cli download org/tiny --revision v2"}},
		{"org/tiny@step1000", []string{"no model.safetensors", "huggingface-cli download org/tiny --revision step1000"}},
		{"./no/such/dir", []string{`model "./no/such/dir": no such directory, and not an org/name[@revision] model id`}},
	}
	for _, c := range bad {
		_, err := Open(c.arg)
		assertErr(t, err, c.want...)
	}
	// A ref pointing at a snapshot that is gone.
	os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(strings.Repeat("cd", 20)), 0o644)
	_, err := Open("org/tiny")
	assertErr(t, err, "refs/main points at commit "+strings.Repeat("cd", 20), "is missing", "huggingface-cli download org/tiny --revision main")
	// No cache at all.
	t.Setenv("HF_HUB_CACHE", filepath.Join(root, "absent"))
	_, err = Open("org/tiny")
	assertErr(t, err, "does not exist", "set HF_HUB_CACHE or HF_HOME")
}

func TestParseModelID(t *testing.T) {
	cases := []struct {
		arg, repo, rev string
		ok             bool
	}{
		{"allenai/OLMo-1B-0724-hf", "allenai/OLMo-1B-0724-hf", "main", true},
		{"allenai/OLMo-1B-0724-hf@step1000-tokens4B", "allenai/OLMo-1B-0724-hf", "step1000-tokens4B", true},
		{"meta-llama/Llama-3.1-8B@refs/pr/1", "meta-llama/Llama-3.1-8B", "refs/pr/1", true},
		{"a/b/c", "", "", false},
		{"/abs/path", "", "", false},
		{"name", "", "", false},
	}
	for _, c := range cases {
		repo, rev, ok := ParseModelID(c.arg)
		if repo != c.repo || rev != c.rev || ok != c.ok {
			t.Errorf("ParseModelID(%q) = %q, %q, %v; want %q, %q, %v", c.arg, repo, rev, ok, c.repo, c.rev, c.ok)
		}
	}
}
