package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// parseIDs reads the comma-separated non-negative token ids given to flag
// (spaces allowed), or with @FILE those of a file (commas or white space
// between them), for inputs too long for a command line; a malformed or
// empty list is a usage error.
func parseIDs(flag, s string) ([]int, error) {
	src := fmt.Sprintf("%q", s)
	if path, ok := strings.CutPrefix(s, "@"); ok {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		s, src = string(b), path
	}
	var ids []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		id, err := strconv.Atoi(f)
		if err != nil || id < 0 {
			return nil, usagef("%s %s: %q is not a token id (want non-negative integers, comma-separated)", flag, src, f)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, usagef("%s: no token ids in %s", flag, src)
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
