package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttnRow checks every implementation of AttnRow against the portable
// one bit for bit (sums and per-key updates), and the portable one against
// the definition in plain sequential float64 (to 1e-12 relative: only the
// order of the sums differs), on rows of every length around the vector
// width, with zero weights (skipped by colT) among them.
func TestAttnRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, ks := range allKernels() {
		for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 64, 100, 257} {
			t.Run(fmt.Sprintf("%s/n%d", ks.name, n), func(t *testing.T) {
				a, sc := make([]float32, n), make([]float32, n)
				for k := range a {
					sc[k] = float32(3 * rng.NormFloat64())
					a[k] = float32(math.Exp(float64(sc[k]) - 5))
					if rng.IntN(5) == 0 { // a weight that underflowed, or a masked key
						a[k] = 0
						if rng.IntN(2) == 0 {
							sc[k] = float32(math.Inf(-1))
						}
					}
				}
				c := 5.0
				mass0, colT0 := make([]float64, n), make([]float64, n)
				for k := range mass0 {
					mass0[k], colT0[k] = rng.Float64(), -rng.Float64()
				}
				mg, cg := append([]float64(nil), mass0...), append([]float64(nil), colT0...)
				zg, tg, sg := attnRowGo(mg, cg, a, sc, c)
				mk, ck := append([]float64(nil), mass0...), append([]float64(nil), colT0...)
				zk, tk, sk := ks.attnRow(mk, ck, a, sc, c)
				for _, p := range []struct {
					name      string
					got, want float64
				}{{"z", zk, zg}, {"t", tk, tg}, {"m", sk, sg}} {
					if math.Float64bits(p.got) != math.Float64bits(p.want) {
						t.Errorf("%s = %v, portable code gives %v", p.name, p.got, p.want)
					}
				}
				var z, tt, m float64
				for k := range a {
					x, s := float64(a[k]), float64(sc[k])
					z, m = z+x, m+s
					want, wantT := mass0[k]+x, colT0[k]
					if x > 0 {
						tt += x * (s - c)
						wantT += x * (s - c)
					}
					if mk[k] != mg[k] || ck[k] != cg[k] || mg[k] != want || cg[k] != wantT {
						t.Fatalf("key %d: mass %v / %v, colT %v / %v (this code / portable); want %v, %v", k, mk[k], mg[k], ck[k], cg[k], want, wantT)
					}
				}
				for _, p := range []struct {
					name      string
					got, want float64
				}{{"z", zg, z}, {"t", tg, tt}, {"m", sg, m}} {
					if math.Abs(p.got-p.want) > 1e-12*math.Max(1, math.Abs(p.want)) {
						t.Errorf("portable %s = %v, sequential sum %v", p.name, p.got, p.want)
					}
				}
				if got, want := ks.max(a), maxGo(a); got != want {
					t.Errorf("max = %v, want %v", got, want)
				}
			})
		}
	}
	if z, tt, m := AttnRow(nil, nil, nil, nil, 0); z != 0 || tt != 0 || m != 0 {
		t.Errorf("AttnRow of an empty row = %v, %v, %v", z, tt, m)
	}
	if mx := Max(nil); !math.IsInf(float64(mx), -1) {
		t.Errorf("Max(nil) = %v, want −Inf", mx)
	}
}
