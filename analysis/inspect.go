package analysis

import (
	"fmt"
	"io"
	"sort"

	"github.com/sinkscope/sinkscope/model"
	"github.com/sinkscope/sinkscope/tokenizer"
)

// Inspection is what a checkpoint is and what a forward pass over it costs.
type Inspection struct {
	Model, Dir, Arch, ModelType                string
	Layers, Heads, KVHeads, HeadDim, DModel    int
	Intermediate, Vocab, MaxPositions          int
	DTypes                                     []string
	Params, Bytes                              int64
	Files                                      int
	Tokenizer                                  string // path or ""
	BOSPolicy                                  string // what --bos auto does: "prepend", "none" or "unknown"
	BOSID                                      int    // -1: none
	BOSToken                                   string
	RopeTheta                                  float64
	RopeScaling                                map[string]any // nil: none
	ClipQKV                                    float64
	Tied                                       bool
	NormEps                                    float64
	SeqLen                                     int
	WeightsBytes, ActivationBytes, LogitsBytes int64
	PeakBytes                                  int64
	Quirks                                     []model.Quirk // how the family departs from a plain pre-norm decoder
}

// Inspect describes m: its configuration, stored tensors, tokenizer and BOS
// policy, and an estimate of the peak memory of one forward pass over seqLen
// tokens (every mapped weight resident, one layer's float32 activations
// including the [heads, T, T] scores and pattern, and the [T, vocab]
// logits). Problems that do not stop the inspection (a tokenizer that fails
// to load, seqLen beyond the context) are reported to warn.
func Inspect(m *Model, seqLen int, warn io.Writer) Inspection {
	ck := m.Checkpoint
	c, in := ck.Config, m.Info()
	r := Inspection{
		Model: m.Label, Dir: ck.Dir, Arch: c.Architecture, ModelType: c.ModelType,
		Layers: in.Layers, Heads: in.Heads, KVHeads: in.KVHeads, HeadDim: in.HeadDim, DModel: in.DModel,
		Intermediate: in.MLPWidth, Vocab: in.Vocab, MaxPositions: in.MaxSeqLen,
		Files: len(ck.Tensors.Files()), Tokenizer: ck.TokenizerPath, BOSID: c.BOSTokenID,
		RopeTheta: c.RopeTheta, ClipQKV: c.ClipQKV, Tied: c.TieWordEmbeddings, NormEps: c.RMSNormEps, SeqLen: seqLen,
	}
	if d, ok := m.Model.(model.Describer); ok {
		r.Quirks = d.Quirks()
	}
	counts := map[string]int{}
	for _, n := range ck.Tensors.Names() {
		t, err := ck.Tensors.Get(n)
		if err != nil {
			continue
		}
		counts[t.DType.String()]++
		r.Params += int64(t.Len())
		r.Bytes += int64(len(t.Bytes()))
	}
	for d := range counts {
		r.DTypes = append(r.DTypes, d)
	}
	sort.Strings(r.DTypes)
	if s := c.RopeScaling; s != nil {
		r.RopeScaling = map[string]any{"rope_type": s.Type, "factor": s.Factor}
		if s.Type == "llama3" {
			r.RopeScaling["low_freq_factor"] = s.LowFreqFactor
			r.RopeScaling["high_freq_factor"] = s.HighFreqFactor
			r.RopeScaling["original_max_position_embeddings"] = s.OriginalMaxPositions
		}
	}

	// What --bos auto does is the tokenizer's call (DESIGN.md §2).
	r.BOSPolicy = "unknown"
	if ck.TokenizerPath != "" {
		tok, err := m.Tokenizer, error(nil)
		if tok == nil {
			tok, err = ck.Tokenizer()
		}
		if err != nil {
			fmt.Fprintf(warn, "sinkscope: warning: %v\n", err)
		} else {
			r.BOSPolicy = bosAuto(tok)
			if id, ok := tok.BOS(); ok {
				r.BOSID = id
				r.BOSToken = tok.Token(id)
			}
		}
	}
	if in.MaxSeqLen > 0 && seqLen > in.MaxSeqLen {
		fmt.Fprintf(warn, "sinkscope: warning: --seq-len %d exceeds max_position_embeddings %d\n", seqLen, in.MaxSeqLen)
	}

	// Peak memory of one forward pass of the head analysis: every mapped
	// weight resident, plus one layer's float32 activations and a chunk of
	// the logits. The attention is scored a block of 96 queries at a time,
	// against its head's keys and values packed once (at most one block and
	// one packing per head at once), the MLP runs 512 positions at a
	// time and the logits 256 at a time (package transformer).
	T, d, H, KV, dh, ff := int64(seqLen), int64(in.DModel), int64(in.Heads), int64(in.KVHeads), int64(in.HeadDim), int64(r.Intermediate)
	floats := 4*T*d + // residual, normed input, attention output, MLP output [T, d_model]
		2*T*H*dh + // q and z [T, H, d_head]
		2*T*KV*dh + // k and v [T, KV, d_head]
		2*H*min(T, 96)*T + // scores and pattern of a query block per head
		H*((T+31)/32*32*dh+(dh+31)/32*32*T) + // the head's keys and values packed in 32-column blocks
		3*min(T, 512)*ff // MLP gate (twice, for a fused gate_up) and up [512, intermediate]
	r.WeightsBytes = r.Bytes
	r.ActivationBytes = 4 * floats
	r.LogitsBytes = 4 * min(T, 256) * int64(in.Vocab)
	r.PeakBytes = r.WeightsBytes + r.ActivationBytes + r.LogitsBytes
	return r
}

// bosAuto says what --bos auto does with this tokenizer.
func bosAuto(tok *tokenizer.Tokenizer) string {
	ids, err := tok.EncodeBOS("", tokenizer.BOSAuto)
	if err == nil && len(ids) > 0 {
		return "prepend"
	}
	return "none"
}
