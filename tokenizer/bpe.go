package tokenizer

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// bpe is a byte-pair-encoding model with Hugging Face's semantics: words
// start as characters (with byte fallback and unknown-token fusion) and the
// adjacent pair of lowest merge rank is merged first, leftmost on ties.
type bpe struct {
	vocab        map[string]int
	merges       map[uint64]merge // key: pairKey(left id, right id)
	unk          int              // -1: no unknown token
	prefix       string           // continuing_subword_prefix ("" = none)
	suffix       string           // end_of_word_suffix ("" = none)
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	byteIDs      [256]int // id of "<0xNN>" or -1, for byte fallback

	mu    sync.Mutex
	cache map[string][]int
}

type merge struct{ rank, id int32 }

func pairKey(a, b int) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

const (
	cacheCapacity = 10000 // words, as in Hugging Face tokenizers
	cacheMaxLen   = 256   // bytes: longer words are not cached
)

// bpeJSON is the "model" object of tokenizer.json for type BPE.
type bpeJSON struct {
	Type                    string         `json:"type"`
	Dropout                 *float64       `json:"dropout"`
	UnkToken                *string        `json:"unk_token"`
	ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string        `json:"end_of_word_suffix"`
	FuseUnk                 bool           `json:"fuse_unk"`
	ByteFallback            bool           `json:"byte_fallback"`
	IgnoreMerges            bool           `json:"ignore_merges"`
	Vocab                   map[string]int `json:"vocab"`
	Merges                  []mergeJSON    `json:"merges"`
}

// mergeJSON is one merge, either "left right" (classic) or ["left", "right"].
type mergeJSON [2]string

func (m *mergeJSON) fromLine(s string) error {
	l, r, ok := strings.Cut(s, " ")
	if !ok || strings.Contains(r, " ") {
		return fmt.Errorf("merge %q: want two tokens separated by one space", s)
	}
	m[0], m[1] = l, r
	return nil
}

func newBPE(j *bpeJSON) (*bpe, error) {
	if j.Vocab == nil {
		return nil, fmt.Errorf("model.vocab: missing")
	}
	if j.Dropout != nil && *j.Dropout != 0 {
		return nil, fmt.Errorf("model.dropout: %v unsupported (encoding would be random)", *j.Dropout)
	}
	m := &bpe{
		vocab:        j.Vocab,
		merges:       make(map[uint64]merge, len(j.Merges)),
		unk:          -1,
		fuseUnk:      j.FuseUnk,
		byteFallback: j.ByteFallback,
		ignoreMerges: j.IgnoreMerges,
		cache:        make(map[string][]int),
	}
	for tok, id := range j.Vocab {
		if id < 0 {
			return nil, fmt.Errorf("model.vocab: token %q has negative id %d", tok, id)
		}
	}
	if j.UnkToken != nil {
		id, ok := j.Vocab[*j.UnkToken]
		if !ok {
			return nil, fmt.Errorf("model.unk_token: %q is not in the vocab", *j.UnkToken)
		}
		m.unk = id
	}
	if j.ContinuingSubwordPrefix != nil {
		m.prefix = *j.ContinuingSubwordPrefix
	}
	if j.EndOfWordSuffix != nil {
		m.suffix = *j.EndOfWordSuffix
	}
	for b := range m.byteIDs {
		id, ok := j.Vocab[fmt.Sprintf("<0x%02X>", b)]
		if !ok {
			id = -1
		}
		m.byteIDs[b] = id
	}
	// Resolving the merges to ids (three vocabulary lookups each, 280147 merges
	// for Llama 3) dominates loading, so it is split across the cores.
	resolved := make([]resolvedMerge, len(j.Merges))
	workers := 1
	if len(j.Merges) >= 20000 {
		workers = min(runtime.GOMAXPROCS(0), 4)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(j.Merges)/workers, (w+1)*len(j.Merges)/workers
		wg.Go(func() { errs[w] = m.resolveMerges(j, lo, hi, resolved) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the chunks are in rank order: this is the first bad merge
		}
	}
	for _, r := range resolved {
		// A repeated pair keeps its last rank, as Hugging Face's map does.
		m.merges[r.key] = r.merge
	}
	return m, nil
}

type resolvedMerge struct {
	key uint64
	merge
}

// resolveMerges maps merges [lo, hi) to (pair key, rank, merged id).
func (m *bpe) resolveMerges(j *bpeJSON, lo, hi int, dst []resolvedMerge) error {
	var buf []byte
	for rank := lo; rank < hi; rank++ {
		mg := j.Merges[rank]
		a, ok := j.Vocab[mg[0]]
		if !ok {
			return fmt.Errorf("model.merges[%d]: token %q is not in the vocab", rank, mg[0])
		}
		b, ok := j.Vocab[mg[1]]
		if !ok {
			return fmt.Errorf("model.merges[%d]: token %q is not in the vocab", rank, mg[1])
		}
		right := mg[1]
		if len(m.prefix) <= len(right) {
			right = right[len(m.prefix):]
		}
		buf = append(append(buf[:0], mg[0]...), right...)
		id, ok := j.Vocab[string(buf)] // no allocation for the lookup
		if !ok {
			return fmt.Errorf("model.merges[%d]: merged token %q is not in the vocab", rank, buf)
		}
		dst[rank] = resolvedMerge{pairKey(a, b), merge{int32(rank), int32(id)}}
	}
	return nil
}

// tokenize appends the ids of one pre-tokenized word to dst.
func (m *bpe) tokenize(dst []int, w string) []int {
	if w == "" {
		return dst
	}
	if m.ignoreMerges {
		if id, ok := m.vocab[w]; ok {
			return append(dst, id)
		}
	}
	cacheable := len(w) < cacheMaxLen
	if cacheable {
		m.mu.Lock()
		ids, ok := m.cache[w]
		m.mu.Unlock()
		if ok {
			return append(dst, ids...)
		}
	}
	ids := m.mergeWord(w)
	if cacheable {
		m.mu.Lock()
		if len(m.cache) < cacheCapacity {
			m.cache[strings.Clone(w)] = ids // w may point into a long input
		}
		m.mu.Unlock()
	}
	return append(dst, ids...)
}

// symbol is one piece of a word during merging, in a doubly linked list.
type symbol struct {
	id         int
	prev, next int // -1 at the ends
	gone       bool
}

// initialSymbols splits w into characters mapped to ids, applying the
// continuing-subword prefix, end-of-word suffix, byte fallback and unknown
// token rules of Hugging Face's BPE.merge_word.
func (m *bpe) initialSymbols(w string) []symbol {
	syms := make([]symbol, 0, len(w))
	add := func(id int) {
		syms = append(syms, symbol{id: id, prev: len(syms) - 1, next: len(syms) + 1})
	}
	unkPending := false
	var sb strings.Builder
	for i := 0; i < len(w); {
		_, size := runeAt(w, i)
		s := w[i : i+size]
		if (i > 0 && m.prefix != "") || (i+size == len(w) && m.suffix != "") {
			sb.Reset()
			if i > 0 {
				sb.WriteString(m.prefix)
			}
			sb.WriteString(s)
			if i+size == len(w) {
				sb.WriteString(m.suffix)
			}
			s = sb.String()
		}
		i += size
		if id, ok := m.vocab[s]; ok {
			if unkPending {
				add(m.unk)
				unkPending = false
			}
			add(id)
			continue
		}
		if m.byteFallback {
			all := true
			for k := 0; k < len(s); k++ {
				if m.byteIDs[s[k]] < 0 {
					all = false
					break
				}
			}
			if all {
				for k := 0; k < len(s); k++ {
					add(m.byteIDs[s[k]])
				}
				continue
			}
		}
		if m.unk >= 0 {
			if unkPending && !m.fuseUnk {
				add(m.unk)
			}
			unkPending = true
		}
		// Without an unknown token the character is dropped, as in Hugging Face.
	}
	if unkPending {
		add(m.unk)
	}
	if n := len(syms); n > 0 {
		syms[n-1].next = -1
	}
	return syms
}

// mergeWord splits w into symbols and applies merges in rank order (leftmost
// first on equal rank) with a priority queue, exactly like Hugging Face's
// Word::merge_all: O(n log n) in the length of the word.
func (m *bpe) mergeWord(w string) []int {
	syms := m.initialSymbols(w)
	var q mergeQueue
	for i := 0; i+1 < len(syms); i++ {
		if mg, ok := m.merges[pairKey(syms[i].id, syms[i+1].id)]; ok {
			q.push(queued{rank: mg.rank, pos: int32(i), id: mg.id})
		}
	}
	for len(q) > 0 {
		top := q.pop()
		cur := &syms[top.pos]
		if cur.gone || cur.next < 0 {
			continue
		}
		nextPos := cur.next
		right := syms[nextPos]
		// Skip queue entries that no longer describe the current pair.
		if mg, ok := m.merges[pairKey(cur.id, right.id)]; !ok || mg.id != top.id {
			continue
		}
		cur.id = int(top.id)
		cur.next = right.next
		syms[nextPos].gone = true
		if right.next >= 0 {
			syms[right.next].prev = int(top.pos)
		}
		if cur.prev >= 0 {
			if mg, ok := m.merges[pairKey(syms[cur.prev].id, cur.id)]; ok {
				q.push(queued{rank: mg.rank, pos: int32(cur.prev), id: mg.id})
			}
		}
		if cur.next >= 0 {
			if mg, ok := m.merges[pairKey(cur.id, syms[cur.next].id)]; ok {
				q.push(queued{rank: mg.rank, pos: top.pos, id: mg.id})
			}
		}
	}
	ids := make([]int, 0, len(syms))
	for _, s := range syms {
		if !s.gone {
			ids = append(ids, s.id)
		}
	}
	return ids
}

// queued is a candidate merge at a symbol position.
type queued struct{ rank, pos, id int32 }

func (a queued) less(b queued) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}

// mergeQueue is a binary min-heap ordered by (rank, pos).
type mergeQueue []queued

func (q *mergeQueue) push(x queued) {
	h := append(*q, x)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	*q = h
}

func (q *mergeQueue) pop() queued {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].less(h[m]) {
			m = l
		}
		if r < n && h[r].less(h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
