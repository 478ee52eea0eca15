package bbtoy

import (
	"math/rand/v2"

	"github.com/sinkscope/sinkscope/model"
)

// Domains of BB queries: grouped by the input token at the query position.
const (
	DomainTrigger    = "trigger"
	DomainNonTrigger = "non-trigger"
)

// Token returns how token id prints: the task's character (model.TokenNamer).
func (m *Model) Token(id int) string { return m.task.Token(id) }

// BOS returns the task's BOS token, which starts every sequence.
func (m *Model) BOS() (int, bool) { return m.task.BOS(), true }

// Domains returns the toy's default domains (model.Domainer): n sequences
// drawn from PCG(seed, 0xb1b0), of the task's length, split by the input
// token at each query into DomainTrigger (whose next token is a copy) and
// DomainNonTrigger (whose next token is a bigram draw). Query 0, the BOS
// token, is in neither. Each domain draws the same sequences again, one at
// a time, so that memory does not grow with n.
func (m *Model) Domains(n int, seed uint64) []model.Domain {
	task := m.task
	each := func(trigger bool) func(fn func(ids []int, queries []bool) error) error {
		return func(fn func(ids []int, queries []bool) error) error {
			rng := rand.New(rand.NewPCG(seed, 0xb1b0))
			ids := make([]int, task.SeqLen())
			q := make([]bool, task.SeqLen())
			for range n {
				task.Sample(rng, ids)
				task.Queries(ids, trigger, q)
				if err := fn(ids, q); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return []model.Domain{
		{Name: DomainTrigger, Note: "queries at trigger tokens", Len: n, Each: each(true)},
		{Name: DomainNonTrigger, Note: "queries at non-trigger tokens", Len: n, Each: each(false)},
	}
}

// Queries sets q[i] for the queries of ids in the trigger domain (trigger
// set) or the non-trigger domain: by the type of the input token at i, BOS
// in neither. q has len(ids) entries.
func (t *Task) Queries(ids []int, trigger bool, q []bool) {
	for i, id := range ids {
		q[i] = t.IsTrigger(id) == trigger && id != t.BOS()
	}
}
