package kernels

import "math"

// AttnRow folds one query's attention weights a into the per-key sums of
// the streamed attention statistics, in float64: for every key k,
// mass[k] += a[k] and, where a[k] > 0, colT[k] += a[k]·(sc[k] − c), with
// sc the row's scores and c = log Σ exp(sc), so that sc[k] − c = log a[k].
// It returns z = Σ a[k], t = Σ a[k]·(sc[k] − c) over a[k] > 0 and
// m = Σ sc[k]. mass, colT and sc hold at least len(a) values. The sums run
// in 8 lanes (element k in lane k mod 8), added pairwise at the end, on
// every implementation, so that the results do not depend on the CPU.
func AttnRow(mass, colT []float64, a, sc []float32, c float64) (z, t, m float64) {
	n := len(a)
	if n == 0 {
		return 0, 0, 0
	}
	mass, colT, sc = mass[:n], colT[:n], sc[:n]
	return bestKernels().attnRow(mass, colT, a, sc, c)
}

// Max returns the largest of x, −Inf for an empty x. With NaNs in x the
// result may or may not be NaN.
func Max(x []float32) float32 {
	if len(x) == 0 {
		return float32(math.Inf(-1))
	}
	return bestKernels().max(x)
}

func attnRowGo(mass, colT []float64, a, sc []float32, c float64) (z, t, m float64) {
	var zl, tl, ml [8]float64
	for k, v := range a {
		x, s := float64(v), float64(sc[k])
		ml[k%8] += s
		zl[k%8] += x
		mass[k] += x
		if x > 0 {
			xl := x * (s - c)
			colT[k] += xl
			tl[k%8] += xl
		}
	}
	return sum8(&zl), sum8(&tl), sum8(&ml)
}

// sum8 adds 8 lanes as the vector code does: halves, then quarters, then
// the last pair.
func sum8(l *[8]float64) float64 {
	var h [4]float64
	for i := range h {
		h[i] = l[i] + l[i+4]
	}
	return (h[0] + h[2]) + (h[1] + h[3])
}

func maxGo(x []float32) float32 {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	return mx
}
