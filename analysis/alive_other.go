//go:build !unix

package analysis

// alive reports whether a process pid exists on this host; without a way to
// ask, every holder is taken to be alive (its lock goes stale by timeout).
func alive(int) bool { return true }
