package analysis

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultLockTimeout is how long a lock whose heartbeat stopped is honoured
// before another worker takes it over.
const DefaultLockTimeout = 2 * time.Minute

// lockInfo is the content of a lock file: who holds it.
type lockInfo struct {
	Host       string `json:"host"`
	PID        int    `json:"pid"`
	Token      string `json:"token"` // random, to tell this lock from a later one
	Checkpoint string `json:"checkpoint"`
	Started    string `json:"started"`
}

// Lock is a held lock on one cache key: the file Dir/locks/KEY.lock,
// created exclusively, holding its owner's host and pid, and kept alive by a
// heartbeat that renews its modification time every LockTimeout/4. A lock
// whose modification time is older than the timeout, or whose owner is a
// process of this host that no longer exists, is stale and may be taken
// over. The timeout assumes the workers' clocks agree to well within it.
type Lock struct {
	path string
	info lockInfo
	stop chan struct{}
	done sync.WaitGroup
	mu   sync.Mutex
	lost error // set when the heartbeat found the lock taken from it
}

// holder describes the live owner of a lock this worker could not take.
type holder struct {
	lockInfo
	age time.Duration // since its last heartbeat
}

func (h holder) String() string {
	return fmt.Sprintf("%s pid %d, heartbeat %s ago", h.Host, h.PID, h.age.Round(time.Second))
}

func (c Cache) lockTimeout() time.Duration {
	if c.LockTimeout > 0 {
		return c.LockTimeout
	}
	return DefaultLockTimeout
}

func (c Cache) lockPath(key string) string { return filepath.Join(c.Dir, "locks", key+".lock") }

// TryLock takes the lock on key for checkpoint label: the lock, or nil and
// its live holder when another worker has it. A stale lock is taken over
// (and reported to warn).
func (c Cache) TryLock(key, label string, warn func(string)) (*Lock, *holder, error) {
	p := c.lockPath(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, nil, fmt.Errorf("diff cache: %w", err)
	}
	host, _ := os.Hostname()
	tok := make([]byte, 8)
	rand.Read(tok)
	info := lockInfo{Host: host, PID: os.Getpid(), Token: hex.EncodeToString(tok), Checkpoint: label,
		Started: time.Now().UTC().Format(time.RFC3339)}
	body, _ := json.Marshal(info)
	for attempt := 0; attempt < 3; attempt++ {
		err := create(p, append(body, '\n'), info.Token)
		if err == nil {
			l := &Lock{path: p, info: info, stop: make(chan struct{})}
			l.done.Add(1)
			go l.heartbeat(c.lockTimeout() / 4)
			return l, nil, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, nil, fmt.Errorf("diff cache: creating lock %s: %w", p, err)
		}
		h, stale, err := c.inspect(p, host)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // released meanwhile
			}
			return nil, nil, err
		}
		if !stale {
			return nil, &h, nil
		}
		if c.breakStale(p, host) {
			warn(fmt.Sprintf("sinkscope: warning: diff cache: taking over the stale lock of %s (%s)", label, h))
		}
	}
	h, _, err := c.inspect(p, host)
	if err != nil {
		return nil, nil, fmt.Errorf("diff cache: lock %s keeps changing hands: %w", p, err)
	}
	return nil, &h, nil
}

// create makes the lock file p holding body, or fails with fs.ErrExist if
// there is one: body is written to a file of its own, which is then linked
// to p (exclusive, and safe on NFS), so that a lock file is never seen
// half-written, even when its writer is killed.
func create(p string, body []byte, token string) error {
	tmp := p + ".new-" + token
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		return fmt.Errorf("writing lock %s: %w", p, err)
	}
	defer os.Remove(tmp)
	err := os.Link(tmp, p)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	// A filesystem without hard links: exclusive create, then write.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
	}
	return err
}

// inspect reads the lock at p and says whether it is stale.
func (c Cache) inspect(p, host string) (holder, bool, error) {
	st, err := os.Stat(p)
	if err != nil {
		return holder{}, false, err
	}
	var h holder
	h.age = time.Since(st.ModTime())
	b, err := os.ReadFile(p)
	if err != nil {
		return holder{}, false, err
	}
	if json.Unmarshal(b, &h.lockInfo) != nil {
		// Being written right now, or damaged: judged by its age alone.
		return h, h.age > c.lockTimeout(), nil
	}
	if h.Host == host && h.PID > 0 && h.PID != os.Getpid() && !alive(h.PID) {
		return h, true, nil
	}
	return h, h.age > c.lockTimeout(), nil
}

// breakStale moves the stale lock at p aside and removes it. Two workers
// may find the same lock stale at once: each moves away what is at p under
// a name of its own and checks that what it moved is still stale; if a
// fresh lock was moved (taken by a third worker in between), it is put back.
func (c Cache) breakStale(p, host string) bool {
	tok := make([]byte, 6)
	rand.Read(tok)
	aside := fmt.Sprintf("%s.stale-%s", p, hex.EncodeToString(tok))
	if os.Rename(p, aside) != nil {
		return false // someone else moved it first
	}
	if _, stale, err := c.inspect(aside, host); err == nil && !stale {
		os.Link(aside, p) // put the live lock back unless a new one is already there
		os.Remove(aside)
		return false
	}
	os.Remove(aside)
	return true
}

// heartbeat renews the lock's modification time until Unlock, and notices
// when the lock is no longer this worker's.
func (l *Lock) heartbeat(every time.Duration) {
	defer l.done.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if err := l.mine(); err != nil {
				l.mu.Lock()
				l.lost = err
				l.mu.Unlock()
				return
			}
			now := time.Now()
			os.Chtimes(l.path, now, now)
		}
	}
}

// mine checks that the lock file is still this lock.
func (l *Lock) mine() error {
	b, err := os.ReadFile(l.path)
	if err != nil {
		return fmt.Errorf("lock %s: %w", l.path, err)
	}
	var got lockInfo
	if json.Unmarshal(b, &got) != nil || got.Token != l.info.Token {
		return fmt.Errorf("lock %s was taken over by %s pid %d (this worker's heartbeat came too late)", l.path, got.Host, got.PID)
	}
	return nil
}

// Unlock stops the heartbeat and removes the lock if it is still this
// worker's; it returns an error when the lock was lost meanwhile (another
// worker may have computed the same checkpoint).
func (l *Lock) Unlock() error {
	close(l.stop)
	l.done.Wait()
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	if lost == nil {
		lost = l.mine()
	}
	if lost != nil {
		return fmt.Errorf("diff cache: %w", lost)
	}
	if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("diff cache: removing lock: %w", err)
	}
	return nil
}
