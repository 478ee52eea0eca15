package analysis

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeLock plants a lock file for key as another worker would leave it,
// with modification time age ago.
func writeLock(t *testing.T, c Cache, key string, info lockInfo, age time.Duration) {
	t.Helper()
	p := c.lockPath(key)
	os.MkdirAll(filepath.Dir(p), 0o755)
	b, _ := json.Marshal(info)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-age)
	os.Chtimes(p, old, old)
}

// deadPID is the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command(os.Args[0], "-test.run=^$")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	return c.Process.Pid
}

func TestLocks(t *testing.T) {
	host, _ := os.Hostname()
	for _, c := range []struct {
		name  string
		info  lockInfo
		age   time.Duration
		taken bool // whether TryLock takes it over
	}{
		{"live worker elsewhere", lockInfo{Host: "node7", PID: 42, Token: "t"}, time.Second, false},
		{"stale worker elsewhere", lockInfo{Host: "node7", PID: 42, Token: "t"}, 3 * time.Second, true},
		{"live process here", lockInfo{Host: host, PID: os.Getppid(), Token: "t"}, time.Second, false},
		{"dead process here", lockInfo{Host: host, PID: deadPID(t), Token: "t"}, time.Second, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cache := Cache{Dir: t.TempDir(), LockTimeout: 2 * time.Second}
			writeLock(t, cache, "k", c.info, c.age)
			var warnings []string
			l, h, err := cache.TryLock("k", "ck", func(s string) { warnings = append(warnings, s) })
			if err != nil {
				t.Fatal(err)
			}
			if (l != nil) != c.taken {
				t.Fatalf("lock taken: %v, want %v (holder %v)", l != nil, c.taken, h)
			}
			if !c.taken {
				if h == nil || h.Host != c.info.Host || h.PID != c.info.PID || !strings.Contains(h.String(), "heartbeat") {
					t.Errorf("holder %+v, want %s pid %d", h, c.info.Host, c.info.PID)
				}
				return
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], "taking over the stale lock of ck") {
				t.Errorf("warnings %q, want one about taking over the stale lock", warnings)
			}
			if err := l.Unlock(); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(filepath.Dir(cache.lockPath("k"))); len(ents) != 0 {
				t.Errorf("locks directory holds %d entries after Unlock, want none", len(ents))
			}
		})
	}
}

// TestLockHeartbeat holds a lock past its timeout: the heartbeat keeps it
// fresh, so a second worker cannot take it; after Unlock it can.
func TestLockHeartbeat(t *testing.T) {
	cache := Cache{Dir: t.TempDir(), LockTimeout: 400 * time.Millisecond}
	l, _, err := cache.TryLock("k", "ck", func(s string) { t.Log(s) })
	if err != nil || l == nil {
		t.Fatalf("first lock: %v, %v", l, err)
	}
	time.Sleep(900 * time.Millisecond)
	other := cache
	h, stale, err := other.inspect(cache.lockPath("k"), "another-host")
	if err != nil || stale || h.age > 300*time.Millisecond {
		t.Fatalf("held lock after 900 ms: stale %v, heartbeat %v ago, %v; want fresh", stale, h.age, err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, _, err := cache.TryLock("k", "ck", func(s string) { t.Log(s) })
	if err != nil || l2 == nil {
		t.Fatalf("lock after Unlock: %v, %v", l2, err)
	}
	l2.Unlock()
}

// TestLockLost: a lock taken over while its holder was stalled is reported
// by the holder's Unlock, which leaves the new holder's lock in place.
func TestLockLost(t *testing.T) {
	cache := Cache{Dir: t.TempDir(), LockTimeout: time.Hour}
	l, _, err := cache.TryLock("k", "ck", func(s string) { t.Log(s) })
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	writeLock(t, cache, "k", lockInfo{Host: "node9", PID: 7, Token: "other"}, 0)
	if err := l.Unlock(); err == nil || !strings.Contains(err.Error(), "taken over by node9 pid 7") {
		t.Errorf("Unlock of a lost lock: %v", err)
	}
	if _, err := os.Stat(cache.lockPath("k")); err != nil {
		t.Errorf("the new holder's lock is gone: %v", err)
	}
}
