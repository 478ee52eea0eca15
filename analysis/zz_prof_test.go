package analysis

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/sinkscope/sinkscope/metrics"
)

func TestZZProf(t *testing.T) {
	ck := os.Getenv("ZZ_CKPT")
	if ck == "" {
		t.Skip()
	}
	T, _ := strconv.Atoi(os.Getenv("ZZ_T"))
	n, _ := strconv.Atoi(os.Getenv("ZZ_N"))
	m, err := Open(ck, 0)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var rows [][]int
	for range n {
		r := make([]int, T)
		for k := range r {
			r[k] = 1 + rng.IntN(31999)
		}
		rows = append(rows, r)
	}
	d := Domain{Name: "x", Len: n, Each: func(fn func(metrics.Sequence) error) error {
		for _, r := range rows {
			if err := fn(metrics.Sequence{IDs: r}); err != nil {
				return err
			}
		}
		return nil
	}}
	for rep := 0; rep < 2; rep++ {
		t0 := time.Now()
		if _, err := Bench(m, rows, 0, 1); err != nil {
			t.Fatal(err)
		}
		tb := time.Since(t0)
		t0 = time.Now()
		if _, err := Heads(m, []Domain{d}, HeadOptions{}); err != nil {
			t.Fatal(err)
		}
		th := time.Since(t0)
		t.Logf("T=%d n=%d bench %.2fs heads %.2fs ratio %.3f", T, n, tb.Seconds(), th.Seconds(), th.Seconds()/tb.Seconds())
	}
}
