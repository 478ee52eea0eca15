package bbtoy

import (
	"bytes"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
)

// Record is one line of the dynamics log: the model measured on a fixed
// evaluation batch (PAPER §1.4, §1.7).
type Record struct {
	Step         int           `json:"step"`
	Loss         float64       `json:"loss"`          // next-token cross-entropy over all positions
	BackcopyRisk float64       `json:"backcopy_risk"` // CE against the oracle at trigger inputs (oracle risk 0)
	BigramRisk   float64       `json:"bigram_risk"`   // CE against the oracle distribution at non-trigger inputs
	OracleBigram float64       `json:"oracle_bigram"` // the oracle's own bigram risk (entropy) on this batch
	BigramExcess float64       `json:"bigram_excess"` // BigramRisk − OracleBigram
	Layers       []LayerRecord `json:"layers"`
	Seconds      float64       `json:"train_seconds,omitempty"` // training wall time so far (evaluation excluded)
}

// LayerRecord holds one layer's sink measurements, averaged over heads.
type LayerRecord struct {
	AttnBOS         float64 `json:"attn_bos"`          // mean A[i,0] over non-trigger queries i ≥ 1
	AttnBOSTrigger  float64 `json:"attn_bos_trigger"`  // mean A[i,0] over trigger queries
	AttnPrevTrigger float64 `json:"attn_prev_trigger"` // mean A[i,i−1] over trigger queries
	ValueNormBOS    float64 `json:"value_norm_bos"`    // ‖W_O v_BOS‖ (all heads' output if attending only to BOS)
	ValueNormRest   float64 `json:"value_norm_rest"`   // median ‖W_O v_i‖ over positions i ≥ 1
	DlogitMean      float64 `json:"dlogit_mean"`       // Δlogit_BOS averaged per non-trigger token type, mean over types
	DlogitQ10       float64 `json:"dlogit_q10"`        // 10% quantile over non-trigger token types
	DlogitQ90       float64 `json:"dlogit_q90"`        // 90% quantile over non-trigger token types
	DlogitTrigger   float64 `json:"dlogit_trigger"`    // mean over trigger token types
	ResBOS          float64 `json:"res_bos"`           // ‖resid_post at position 0‖
	ResRestMedian   float64 `json:"res_rest_median"`   // median ‖resid_post‖ over positions ≥ 1
}

// Evaluator measures models on a fixed batch of BB sequences.
type Evaluator struct {
	task    *Task
	seqs    [][]int // [n][SeqLen+1]
	threads int
}

// NewEvaluator draws n evaluation sequences from PCG(seed, 27) (the paper
// uses numpy's default_rng([42, 27]) with 512 sequences).
func NewEvaluator(task *Task, n int, seed uint64, threads int) *Evaluator {
	rng := rand.New(rand.NewPCG(seed, 27))
	e := &Evaluator{task: task, threads: threads}
	if e.threads <= 0 {
		e.threads = runtime.GOMAXPROCS(0)
	}
	for i := 0; i < n; i++ {
		s := make([]int, task.SeqLen()+1)
		task.Sample(rng, s)
		e.seqs = append(e.seqs, s)
	}
	return e
}

// seqStats are one sequence's sums, reduced in sequence order.
type seqStats struct {
	riskSums
	layers []seqLayerStats
}

// riskSums are a sequence's summed losses and risks (PAPER §1.4).
type riskSums struct {
	loss, backcopy, bigram, oracle float64
	nTrig, nNon                    int
}

func (r *riskSums) add(o riskSums) {
	r.loss += o.loss
	r.backcopy += o.backcopy
	r.bigram += o.bigram
	r.oracle += o.oracle
	r.nTrig += o.nTrig
	r.nNon += o.nNon
}

// riskOf sums, over positions, the cross-entropy of the targets tg and the
// risks against the oracle for inputs in with logits [len(in)][vocab].
func riskOf(task *Task, in, tg []int, logits []float32) riskSums {
	var st riskSums
	V := task.Vocab()
	for t := range in {
		row := logits[t*V : (t+1)*V]
		lse := logSumExp(row)
		x := in[t]
		st.loss += lse - float64(row[tg[t]])
		if task.IsTrigger(x) {
			st.backcopy += lse - float64(row[tg[t]])
			st.nTrig++
			continue
		}
		var ce float64
		for j, pj := range task.Oracle(x) {
			if pj > 0 {
				ce += pj * (lse - float64(row[j]))
			}
		}
		st.bigram += ce
		st.oracle += task.OracleEntropy(x)
		st.nNon++
	}
	return st
}

type seqLayerStats struct {
	attnBOS, attnBOSTrig, attnPrevTrig float64
	nNon, nTrig                        int
	dlSum                              []float64 // [vocab] Δlogit sums per query token type (i ≥ 2)
	dlCnt                              []int     // [vocab]
	vBOS                               float64
	vRest                              []float64 // [T−1]
	resBOS                             float64
	resRest                            []float64 // [T−1]
}

// Measure evaluates m (whose task must be the evaluator's) on the batch.
func (e *Evaluator) Measure(m *Model) Record {
	c := m.cfg
	T := e.task.SeqLen()
	stats := make([]seqStats, len(e.seqs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for w := 0; w < e.threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := newActs[float32](c, T)
			vo := make([]float32, T*c.D)
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(e.seqs) {
					return
				}
				stats[i] = e.measureSeq(m, e.seqs[i], a, vo)
			}
		}()
	}
	wg.Wait()
	return e.reduce(m, stats)
}

func (e *Evaluator) measureSeq(m *Model, seq []int, a *acts[float32], vo []float32) seqStats {
	c, task := m.cfg, e.task
	T, V, d, H := e.task.SeqLen(), c.Vocab, c.D, c.Heads
	in, tg := seq[:T], seq[1:T+1]
	m.net.forward(in, a, nil)
	var st seqStats
	st.riskSums = riskOf(task, in, tg, a.logits)
	st.layers = make([]seqLayerStats, c.Layers)
	for l := range st.layers {
		la, ls := &a.layers[l], &st.layers[l]
		ls.resBOS = norm(la.out[:d])
		ls.resRest = make([]float64, T-1)
		for t := 1; t < T; t++ {
			ls.resRest[t-1] = norm(la.out[t*d : (t+1)*d])
		}
		if !c.hasAttn(l) {
			continue
		}
		gemm(false, true, T, d, d, 1, la.v, d, m.net.w.layers[l].wo, d, 0, vo, d)
		ls.vBOS = norm(vo[:d])
		ls.vRest = make([]float64, T-1)
		for t := 1; t < T; t++ {
			ls.vRest[t-1] = norm(vo[t*d : (t+1)*d])
		}
		ls.dlSum, ls.dlCnt = make([]float64, V), make([]int, V)
		for i := 1; i < T; i++ {
			trig := task.IsTrigger(in[i])
			var a0, prev, dl float64
			for h := 0; h < H; h++ {
				arow := la.a[h*T*T+i*T : h*T*T+(i+1)*T]
				a0 += float64(arow[0])
				prev += float64(arow[i-1])
				if i >= 2 {
					srow := la.s[h*T*T+i*T : h*T*T+i*T+i]
					var mean float64
					for _, v := range srow[1:i] {
						mean += float64(v)
					}
					dl += float64(srow[0]) - mean/float64(i-1)
				}
			}
			a0 /= float64(H)
			prev /= float64(H)
			if trig {
				ls.attnBOSTrig += a0
				ls.attnPrevTrig += prev
				ls.nTrig++
			} else {
				ls.attnBOS += a0
				ls.nNon++
			}
			if i >= 2 {
				ls.dlSum[in[i]] += dl / float64(H)
				ls.dlCnt[in[i]]++
			}
		}
	}
	return st
}

func (e *Evaluator) reduce(m *Model, stats []seqStats) Record {
	c, V := m.cfg, m.cfg.Vocab
	var sums riskSums
	for _, st := range stats {
		sums.add(st.riskSums)
	}
	r := sums.record()
	r.Layers = make([]LayerRecord, c.Layers)
	for l := range r.Layers {
		lr := &r.Layers[l]
		var resRest, vRest []float64
		var nn, nt int
		dlSum, dlCnt := make([]float64, V), make([]int, V)
		for _, st := range stats {
			ls := st.layers[l]
			lr.ResBOS += ls.resBOS
			resRest = append(resRest, ls.resRest...)
			if !c.hasAttn(l) {
				continue
			}
			lr.ValueNormBOS += ls.vBOS
			vRest = append(vRest, ls.vRest...)
			lr.AttnBOS += ls.attnBOS
			lr.AttnBOSTrigger += ls.attnBOSTrig
			lr.AttnPrevTrigger += ls.attnPrevTrig
			nn += ls.nNon
			nt += ls.nTrig
			for v := range dlSum {
				dlSum[v] += ls.dlSum[v]
				dlCnt[v] += ls.dlCnt[v]
			}
		}
		n := float64(len(stats))
		lr.ResBOS /= n
		lr.ResRestMedian = median(resRest)
		if !c.hasAttn(l) {
			nan := math.NaN()
			lr.AttnBOS, lr.AttnBOSTrigger, lr.AttnPrevTrigger, lr.ValueNormBOS, lr.ValueNormRest = nan, nan, nan, nan, nan
			lr.DlogitMean, lr.DlogitQ10, lr.DlogitQ90, lr.DlogitTrigger = nan, nan, nan, nan
			continue
		}
		lr.ValueNormBOS /= n
		lr.ValueNormRest = median(vRest)
		lr.AttnBOS /= float64(nn)
		lr.AttnBOSTrigger /= float64(nt)
		lr.AttnPrevTrigger /= float64(nt)
		var non, trig []float64
		for v := range dlSum {
			if dlCnt[v] == 0 {
				continue
			}
			if mean := dlSum[v] / float64(dlCnt[v]); e.task.IsTrigger(v) {
				trig = append(trig, mean)
			} else {
				non = append(non, mean)
			}
		}
		lr.DlogitMean, lr.DlogitTrigger = meanOf(non), meanOf(trig)
		lr.DlogitQ10, lr.DlogitQ90 = quantile(non, 0.1), quantile(non, 0.9)
	}
	return r
}

// record turns summed risks into means.
func (s riskSums) record() Record {
	r := Record{Loss: s.loss / float64(s.nTrig+s.nNon), BackcopyRisk: s.backcopy / float64(s.nTrig),
		BigramRisk: s.bigram / float64(s.nNon), OracleBigram: s.oracle / float64(s.nNon)}
	r.BigramExcess = r.BigramRisk - r.OracleBigram
	return r
}

func logSumExp(row []float32) float64 {
	m := row[0]
	for _, v := range row[1:] {
		m = max(m, v)
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v - m))
	}
	return float64(m) + math.Log(s)
}

func norm(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 { return quantile(xs, 0.5) }

// quantile is the q-quantile of xs with linear interpolation (numpy's default).
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
