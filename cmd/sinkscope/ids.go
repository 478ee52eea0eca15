package main

import (
	"strconv"
	"strings"
)

// parseIDs reads the comma-separated non-negative token ids given to flag
// (spaces allowed); a malformed or empty list is a usage error.
func parseIDs(flag, s string) ([]int, error) {
	var ids []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.Atoi(f)
		if err != nil || id < 0 {
			return nil, usagef("%s: %q is not a token id (want comma-separated non-negative integers)", flag, f)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, usagef("%s: no token ids in %q", flag, s)
	}
	return ids, nil
}

// parseSequenceIDs reads --ids for an analysis, which needs at least two
// positions: query 0 only ever sees itself.
func parseSequenceIDs(s string) ([]int, error) {
	ids, err := parseIDs("--ids", s)
	if err == nil && len(ids) < 2 {
		err = usagef("--ids %q: want at least 2 token ids (query 0 only sees itself)", s)
	}
	return ids, err
}
