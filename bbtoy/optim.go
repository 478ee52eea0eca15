package bbtoy

import (
	"fmt"
	"math"
)

// Optimizer names.
const (
	AdamW = "adamw"
	SGD   = "sgd"
)

// OptimConfig holds the optimiser and its hyper-parameters, with PyTorch's
// semantics (torch.optim.AdamW and torch.optim.SGD without dampening or
// Nesterov). The paper's defaults: AdamW lr 3e-4, betas (0.9, 0.99), eps 1e-8,
// weight decay 1e-4; SGD lr 0.03, momentum 0.9, weight decay 1e-4.
type OptimConfig struct {
	Name        string  // AdamW or SGD
	LR          float64 // learning rate
	Beta1       float64 // AdamW
	Beta2       float64 // AdamW
	Eps         float64 // AdamW
	Momentum    float64 // SGD
	WeightDecay float64 // AdamW: decoupled (p ← p − lr·wd·p); SGD: added to the gradient (g ← g + wd·p)
}

// DefaultAdamW is the paper's AdamW with learning rate lr.
func DefaultAdamW(lr float64) OptimConfig {
	return OptimConfig{Name: AdamW, LR: lr, Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 1e-4}
}

// DefaultSGD is the paper's SGD with learning rate lr.
func DefaultSGD(lr float64) OptimConfig {
	return OptimConfig{Name: SGD, LR: lr, Momentum: 0.9, WeightDecay: 1e-4}
}

// Validate reports the first setting out of range, naming it.
func (o OptimConfig) Validate() error {
	switch {
	case o.Name != AdamW && o.Name != SGD:
		return fmt.Errorf("bbtoy: optimizer %q, want %q or %q", o.Name, AdamW, SGD)
	case !(o.LR > 0):
		return fmt.Errorf("bbtoy: learning rate %g, want > 0", o.LR)
	case o.WeightDecay < 0:
		return fmt.Errorf("bbtoy: weight decay %g, want ≥ 0", o.WeightDecay)
	case o.Name == AdamW && (o.Beta1 < 0 || o.Beta1 >= 1 || o.Beta2 < 0 || o.Beta2 >= 1 || !(o.Eps > 0)):
		return fmt.Errorf("bbtoy: AdamW betas (%g, %g) must be in [0, 1) and eps %g > 0", o.Beta1, o.Beta2, o.Eps)
	case o.Name == SGD && o.Momentum < 0:
		return fmt.Errorf("bbtoy: SGD momentum %g, want ≥ 0", o.Momentum)
	}
	return nil
}

// optimizer updates a flat parameter vector from its gradient.
type optimizer struct {
	cfg  OptimConfig
	t    int       // steps taken
	m, v []float32 // AdamW moments, or SGD momentum buffer in m
}

func newOptimizer(cfg OptimConfig, n int) *optimizer {
	o := &optimizer{cfg: cfg, m: make([]float32, n)}
	if cfg.Name == AdamW {
		o.v = make([]float32, n)
	}
	return o
}

// step applies one update to p with gradient g (g may be modified).
func (o *optimizer) step(p, g []float32) {
	o.t++
	c := o.cfg
	lr := float32(c.LR)
	wd := float32(c.WeightDecay)
	if c.Name == SGD {
		mom := float32(c.Momentum)
		for i, gi := range g {
			gi += wd * p[i]
			if c.Momentum != 0 {
				if o.t == 1 {
					o.m[i] = gi
				} else {
					o.m[i] = mom*o.m[i] + gi
				}
				gi = o.m[i]
			}
			p[i] -= lr * gi
		}
		return
	}
	b1, b2 := float32(c.Beta1), float32(c.Beta2)
	bc1 := 1 - math.Pow(c.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(c.Beta2, float64(o.t))
	stepSize := float32(c.LR / bc1)
	bc2Sqrt := float32(math.Sqrt(bc2))
	eps := float32(c.Eps)
	decay := 1 - lr*wd
	for i, gi := range g {
		p[i] *= decay
		m := b1*o.m[i] + (1-b1)*gi
		v := b2*o.v[i] + (1-b2)*gi*gi
		o.m[i], o.v[i] = m, v
		denom := float32(math.Sqrt(float64(v)))/bc2Sqrt + eps
		p[i] -= stepSize * m / denom
	}
}
