package lab

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/sinkscope/sinkscope/bbtoy"

	"gonum.org/v1/gonum/stat"

	"github.com/sinkscope/sinkscope/hooks"
	"github.com/sinkscope/sinkscope/internal/stats"
	"github.com/sinkscope/sinkscope/metrics"
	"github.com/sinkscope/sinkscope/model"
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

// LayerRecord holds one layer's sink measurements on the evaluation batch,
// in two sets.
//
// The first set are sinkscope's own statistics, computed by package metrics
// exactly as `sinkscope heads` computes its columns of the same names, on
// the batch split into the trigger and non-trigger query domains of
// [Model.Domains], and averaged over the layer's heads. Per-query statistics
// are means over the sequences of each sequence's mean over its counted
// queries i ≥ 1; the key statistics (value and residual norms) use every
// position and are taken from the non-trigger domain.
//
// The second set are the paper's numbers with the paper's pooling (PAPER
// §1.7), which its tables and Figure 4(b) use; they are what the
// reproduction compares with the paper.
//
// Layers without attention have NaN attention statistics (written as 0 in
// the dynamics log, which cannot hold NaN).
type LayerRecord struct {
	FirstAttn        float64 `json:"first_attn"`         // first_attn, non-trigger queries
	FirstAttnTrigger float64 `json:"first_attn_trigger"` // first_attn, trigger queries
	PrevAttnTrigger  float64 `json:"prev_attn_trigger"`  // prev_attn, trigger queries
	DLogitFirst      float64 `json:"dlogit_first"`       // dlogit_first, non-trigger queries
	ValueNormFirst   float64 `json:"value_norm_first"`   // ‖W_O^(h) v_0‖
	ValueNormRest    float64 `json:"value_norm_rest"`    // median over positions k ≥ 1 of ‖W_O^(h) v_k‖
	ResidNormFirst   float64 `json:"resid_norm_first"`   // ‖resid_post at position 0‖
	ResidNormRest    float64 `json:"resid_norm_rest"`    // median over positions k ≥ 1 of ‖resid_post‖

	// AttnBOSPaper is "Attn_BOS": the mean of A[i,0] over every non-trigger
	// query position of the batch, pooled, query 0 (BOS, which sees only
	// itself) included.
	AttnBOSPaper float64 `json:"attn_bos_paper"`
	// ValueNormBOSFullWO is "‖W_O v_BOS‖" with the full output projection:
	// the norm of Σ_h W_O^(h) v_0^(h), what the layer's attention would write
	// if every head attended only to BOS. Position 0 holds BOS in every
	// sequence, so this is the paper's value for any one sequence.
	ValueNormBOSFullWO float64 `json:"value_norm_bos_full_wo"`
	// Δlogit_BOS of query i ≥ 2 is S[i,0] − mean_{1≤j≤i−1} S[i,j] (scaled
	// scores), averaged over the heads. It is averaged per input token type
	// over the batch; DLogitPaperMean is the mean over the non-trigger types
	// present, DLogitPaperQ10 and DLogitPaperQ90 their 10% and 90% quantiles
	// (numpy's interpolation), DLogitPaperTrigger the mean over the trigger
	// types.
	DLogitPaperMean    float64 `json:"dlogit_paper_mean"`
	DLogitPaperQ10     float64 `json:"dlogit_paper_q10"`
	DLogitPaperQ90     float64 `json:"dlogit_paper_q90"`
	DLogitPaperTrigger float64 `json:"dlogit_paper_trigger"`
	// ResBOSPaper is "‖Res_BOS‖": ‖resid_post at position 0‖ of the batch's
	// first sequence, as it is (the same in every sequence).
	ResBOSPaper float64 `json:"res_bos_paper"`
}

// floats lists every field of l.
func (l *LayerRecord) floats() []*float64 {
	return []*float64{&l.FirstAttn, &l.FirstAttnTrigger, &l.PrevAttnTrigger, &l.DLogitFirst, &l.ValueNormFirst,
		&l.ValueNormRest, &l.ResidNormFirst, &l.ResidNormRest, &l.AttnBOSPaper, &l.ValueNormBOSFullWO,
		&l.DLogitPaperMean, &l.DLogitPaperQ10, &l.DLogitPaperQ90, &l.DLogitPaperTrigger, &l.ResBOSPaper}
}

// Evaluator measures models on a fixed batch of BB sequences.
type Evaluator struct {
	task    *bbtoy.Task
	seqs    [][]int // [n][SeqLen+1]
	threads int
}

// NewEvaluator draws n evaluation sequences of SeqLen+1 tokens from
// PCG(seed, 27) (the paper uses numpy's default_rng([42, 27]) with 512
// sequences): the model reads the first SeqLen and predicts the last SeqLen.
// With threads > 1 (≤ 0: GOMAXPROCS) Measure reduces its two query domains
// in parallel; the numbers do not depend on it.
func NewEvaluator(task *bbtoy.Task, n int, seed uint64, threads int) *Evaluator {
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
// risks against the oracle for inputs in with logits [len(in)][vocab] (or
// more rows, which are not read).
func riskOf(task *bbtoy.Task, in, tg []int, logits []float32) riskSums {
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

// Measure evaluates m (whose task must be the evaluator's) on the batch:
// each query domain through its own metrics.Accumulator, fed the batch in
// order, the two in parallel when the evaluator has more than one thread.
// The risks and the paper's numbers are read from the forward passes of the
// non-trigger accumulator. It fails when a pass does (a diverged model's
// NaN activations, for one).
func (e *Evaluator) Measure(m *bbtoy.Model) (Record, error) {
	tp := newTap(m)
	ps := newPaperSums(m)
	T := e.task.SeqLen()
	var non, trig metrics.DomainResult
	var errNon, errTrig error
	runNon := func() {
		non, errNon = e.reduce(tp, false, func(s []int) error {
			if tp.logits == nil { // the accumulator skipped s: no pass ran
				if _, err := tp.Forward(s[:T], nil); err != nil {
					return err
				}
			}
			ps.add(e.task, s, tp)
			tp.logits = nil
			return nil
		})
	}
	runTrig := func() { trig, errTrig = e.reduce(m, true, nil) }
	if e.threads > 1 {
		var wg sync.WaitGroup
		wg.Go(runTrig)
		runNon()
		wg.Wait()
	} else {
		runNon()
		runTrig()
	}
	if err := cmp.Or(errNon, errTrig); err != nil {
		return Record{}, err
	}
	r := ps.risk.record()
	r.Layers = make([]LayerRecord, m.Config().Layers)
	for l := range r.Layers {
		lr := ps.layer(e.task, l)
		lr.FirstAttn = layerMean(&non, l, func(h *metrics.HeadResult) float64 { return h.FirstAttn })
		lr.FirstAttnTrigger = layerMean(&trig, l, func(h *metrics.HeadResult) float64 { return h.FirstAttn })
		lr.PrevAttnTrigger = layerMean(&trig, l, func(h *metrics.HeadResult) float64 { return h.PrevAttn })
		lr.DLogitFirst = layerMean(&non, l, func(h *metrics.HeadResult) float64 { return h.DLogitFirst })
		lr.ValueNormFirst = layerMean(&non, l, func(h *metrics.HeadResult) float64 { return h.ValueNormFirst })
		lr.ValueNormRest = layerMean(&non, l, func(h *metrics.HeadResult) float64 { return h.ValueNormRest })
		lr.ResidNormFirst, lr.ResidNormRest = non.Resid[l].ResidNormFirst, non.Resid[l].ResidNormRest
		r.Layers[l] = lr
	}
	return r, nil
}

// reduce runs an accumulator of m over the batch in order, with the query
// mask of the trigger or the non-trigger domain; after, when not nil, is
// called with each sequence once the accumulator has taken it.
func (e *Evaluator) reduce(m model.Model, trigger bool, after func(s []int) error) (metrics.DomainResult, error) {
	acc, err := metrics.NewAccumulator(m, metrics.Options{})
	if err != nil {
		return metrics.DomainResult{}, err
	}
	T := e.task.SeqLen()
	q := make([]bool, T)
	for i, s := range e.seqs {
		e.task.Queries(s[:T], trigger, q)
		err := acc.Add(metrics.Sequence{IDs: s[:T], Queries: q})
		if err == nil && after != nil {
			err = after(s)
		}
		if err != nil {
			return metrics.DomainResult{}, fmt.Errorf("bbtoy: evaluation sequence %d: %w", i, err)
		}
	}
	return acc.Result(), nil
}

// layerMean is the mean over layer l's heads of one statistic.
func layerMean(d *metrics.DomainResult, l int, f func(*metrics.HeadResult) float64) float64 {
	xs := make([]float64, d.Heads)
	for h := range xs {
		xs[h] = f(d.Head(l, h))
	}
	return stat.Mean(xs, nil)
}

// tap is a Model seen through model.Model whose forward passes also capture
// the tensors at points into cache and keep the logits: Measure hands it
// to a metrics.Accumulator so that the paper's numbers come from the very
// passes the accumulator reduces. It does not embed the Model, so that the
// accumulator sees no capability (such as a logits buffer of its own) that
// would bypass Forward.
type tap struct {
	m      *bbtoy.Model
	points []hooks.Point
	cache  hooks.Cache
	logits []float32 // of the last pass; nil once read
}

func newTap(m *bbtoy.Model) *tap {
	tp := &tap{m: m, cache: hooks.Cache{}}
	for l := 0; l < m.Config().Layers; l++ {
		if m.Config().HasAttn(l) {
			tp.points = append(tp.points, hooks.At(l, hooks.AttnScores), hooks.At(l, hooks.Pattern), hooks.At(l, hooks.AttnV))
		}
		tp.points = append(tp.points, hooks.At(l, hooks.ResidPost))
	}
	return tp
}

func (tp *tap) Info() model.Info                             { return tp.m.Info() }
func (tp *tap) HeadOutput(layer, head int, dst, z []float32) { tp.m.HeadOutput(layer, head, dst, z) }

// Forward runs the hooks of hs, then the captures, at every point.
func (tp *tap) Forward(tokens []int, hs *hooks.Set) ([]float32, error) {
	var all hooks.Set
	for _, p := range hooks.Points(tp.m.Config().Layers) {
		if hs.Has(p) {
			all.Add(p, hs.Run)
		}
	}
	clear(tp.cache)
	tp.cache.Capture(&all, tp.points...)
	lg, err := tp.m.Forward(tokens, &all)
	tp.logits = lg
	return lg, err
}

// paperSums are the paper's pooled sums over the batch (PAPER §1.7).
type paperSums struct {
	m      *bbtoy.Model
	seqs   int
	risk   riskSums
	layers []paperLayerSums
	out    []float32 // [D] scratch
}

type paperLayerSums struct {
	attnBOS    float64   // Σ A[i,0] over non-trigger queries (0 included) and heads
	nAttn      int       // terms of attnBOS
	dlSum      []float64 // [vocab] Σ Δlogit_BOS (mean over heads) by query token, queries i ≥ 2
	dlCnt      []int     // [vocab]
	vBOS, rBOS float64   // of the first sequence
}

func newPaperSums(m *bbtoy.Model) *paperSums {
	ps := &paperSums{m: m, layers: make([]paperLayerSums, m.Config().Layers), out: make([]float32, m.Config().D)}
	for l := range ps.layers {
		ps.layers[l].dlSum, ps.layers[l].dlCnt = make([]float64, m.Config().Vocab), make([]int, m.Config().Vocab)
	}
	return ps
}

// add folds in sequence s (SeqLen+1 tokens) from the tensors tp captured and
// the logits of its pass.
func (ps *paperSums) add(task *bbtoy.Task, s []int, tp *tap) {
	c := ps.m.Config()
	T, H, dh, d := task.SeqLen(), c.Heads, c.HeadDim(), c.D
	in := s[:T]
	ps.risk.add(riskOf(task, in, s[1:], tp.logits))
	for l := range ps.layers {
		ls := &ps.layers[l]
		if ps.seqs == 0 {
			ls.rBOS = norm(tp.cache[hooks.At(l, hooks.ResidPost)].Data[:d])
		}
		if !c.HasAttn(l) {
			continue
		}
		pat, sc := tp.cache[hooks.At(l, hooks.Pattern)].Data, tp.cache[hooks.At(l, hooks.AttnScores)].Data
		for i := 0; i < T; i++ {
			if task.IsTrigger(in[i]) {
				continue
			}
			for h := 0; h < H; h++ {
				ls.attnBOS += float64(pat[h*T*T+i*T])
			}
			ls.nAttn += H
		}
		for i := 2; i < T; i++ {
			ls.dlSum[in[i]] += paperDLogit(sc, T, H, i)
			ls.dlCnt[in[i]]++
		}
		if ps.seqs == 0 {
			v := tp.cache[hooks.At(l, hooks.AttnV)].Data // [T, H, dh]; position 0 first
			sum := make([]float64, d)
			for h := 0; h < H; h++ {
				ps.m.HeadOutput(l, h, ps.out, v[h*dh:(h+1)*dh])
				for k, x := range ps.out {
					sum[k] += float64(x)
				}
			}
			var n2 float64
			for _, x := range sum {
				n2 += x * x
			}
			ls.vBOS = math.Sqrt(n2)
		}
	}
	ps.seqs++
}

// layer returns the paper's numbers of layer l.
func (ps *paperSums) layer(task *bbtoy.Task, l int) LayerRecord {
	ls := &ps.layers[l]
	lr := LayerRecord{ResBOSPaper: ls.rBOS}
	if !ps.m.Config().HasAttn(l) {
		nan := math.NaN()
		lr.AttnBOSPaper, lr.ValueNormBOSFullWO = nan, nan
		lr.DLogitPaperMean, lr.DLogitPaperQ10, lr.DLogitPaperQ90, lr.DLogitPaperTrigger = nan, nan, nan, nan
		return lr
	}
	lr.AttnBOSPaper = ls.attnBOS / float64(ls.nAttn)
	lr.ValueNormBOSFullWO = ls.vBOS
	var non, trig []float64
	for v, n := range ls.dlCnt {
		if n == 0 {
			continue
		}
		if mean := ls.dlSum[v] / float64(n); task.IsTrigger(v) {
			trig = append(trig, mean)
		} else {
			non = append(non, mean)
		}
	}
	lr.DLogitPaperMean, lr.DLogitPaperTrigger = stat.Mean(non, nil), stat.Mean(trig, nil)
	lr.DLogitPaperQ10, lr.DLogitPaperQ90 = stats.Quantile(non, 0.1), stats.Quantile(non, 0.9)
	return lr
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

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// paperDLogit is the paper's Δlogit_BOS of query i ≥ 2, the mean over the H
// heads of S[i,0] − mean_{1≤j<i} S[i,j], from the scaled scores sc [H, T, T].
func paperDLogit(sc []float32, T, H, i int) float64 {
	var dl float64
	for h := 0; h < H; h++ {
		row := sc[h*T*T+i*T : h*T*T+i*T+i]
		var rest float64
		for _, v := range row[1:] {
			rest += float64(v)
		}
		dl += float64(row[0]) - rest/float64(i-1)
	}
	return dl / float64(H)
}
