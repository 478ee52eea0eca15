package metrics

import "math"

// stat names one per-sequence value of a head that the accumulator averages
// over sequences (the definitions are in the package documentation).
type stat int

const (
	statFirst    stat = iota // first_attn
	statPrev                 // prev_attn
	statDLogit               // dlogit_first
	statValFirst             // value_norm_first
	statValRest              // value_norm_rest
	statValMean              // value_norm_mean
	statZ                    // z_norm
	statZLN                  // ahon_ln
	statOut                  // head_out_norm
	statOutLN                // head_out_norm_ln
	statLastOut              // last_out_norm
	statRow                  // row entropy
	statCol                  // column entropy
	statEntropy              // entropy score
	numStats
)

// values holds one head's per-sequence values, indexed by stat, NaN where
// the sequence gave none.
type values [numStats]float64

// unknownValues returns values that are all NaN.
func unknownValues() values {
	var v values
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// deriveLayer fills in the values computed from other values of the same
// sequence for the heads of one layer: the entropy score of each head, and
// z_norm and head_out_norm divided by their mean over the layer's heads.
func deriveLayer(heads []headStage) {
	var z, out float64
	for i := range heads {
		z += heads[i].v[statZ]
		out += heads[i].v[statOut]
	}
	n := float64(len(heads))
	z /= n
	out /= n
	for i := range heads {
		v := &heads[i].v
		v[statEntropy] = v[statCol] * (1 - v[statRow])
		v[statZLN] = v[statZ] / z
		v[statOutLN] = v[statOut] / out
	}
}
