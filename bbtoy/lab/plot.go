package lab

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"github.com/sinkscope/sinkscope/internal/atomicfile"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Series is one named curve: Y[i] at step X[i].
type Series struct {
	Name string
	X, Y []float64
}

// DynamicsSeries returns layer l's curves of the paper's Figure 4(b) from a
// dynamics log, with the paper's pooling: Attn_BOS (attn_bos_paper),
// ‖W_O v_BOS‖ (value_norm_bos_full_wo), mean Δlogit_BOS (dlogit_paper_mean),
// backcopy risk, bigram excess risk and ‖Res_BOS‖ (res_bos_paper).
func DynamicsSeries(recs []Record, l int) []Series {
	get := []struct {
		name string
		f    func(Record) float64
	}{
		{"Attn_BOS", func(r Record) float64 { return r.Layers[l].AttnBOSPaper }},
		{"‖W_O v_BOS‖", func(r Record) float64 { return r.Layers[l].ValueNormBOSFullWO }},
		{"Δlogit_BOS", func(r Record) float64 { return r.Layers[l].DLogitPaperMean }},
		{"backcopy risk", func(r Record) float64 { return r.BackcopyRisk }},
		{"bigram excess risk", func(r Record) float64 { return r.BigramExcess }},
		{"‖Res_BOS‖", func(r Record) float64 { return r.Layers[l].ResBOSPaper }},
	}
	var out []Series
	for _, g := range get {
		s := Series{Name: g.name}
		for _, r := range recs {
			if l < len(r.Layers) {
				s.X = append(s.X, float64(r.Step))
				s.Y = append(s.Y, g.f(r))
			}
		}
		out = append(out, s)
	}
	return out
}

// PlotDynamics writes a PNG of layer l's dynamics with every curve min–max
// normalised to [0, 1], steps on the x axis (the paper's Figure 4(b)).
func PlotDynamics(path string, recs []Record, l int, title string) error {
	return PlotSeries(path, title, "min–max normalised", DynamicsSeries(recs, l), true)
}

// PlotSeries writes a PNG of curves over steps, each min–max normalised to
// [0, 1] when normalise is set. The file is replaced atomically.
func PlotSeries(path, title, ylabel string, series []Series, normalise bool) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "step"
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	// Raw curves in these experiments rise to the right: keep the legend left.
	p.Legend.Left = !normalise
	p.Legend.XOffs = vg.Points(8)
	p.Add(plotter.NewGrid())
	for i, s := range series {
		xys := make(plotter.XYs, 0, len(s.X))
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, y := range s.Y {
			if !math.IsNaN(y) && !math.IsInf(y, 0) {
				lo, hi = min(lo, y), max(hi, y)
			}
		}
		for j, x := range s.X {
			y := s.Y[j]
			if math.IsNaN(y) || math.IsInf(y, 0) {
				continue
			}
			if normalise {
				if hi > lo {
					y = (y - lo) / (hi - lo)
				} else {
					y = 0
				}
			}
			xys = append(xys, plotter.XY{X: x, Y: y})
		}
		if len(xys) == 0 {
			continue
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("bbtoy: plot %s: %w", path, err)
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		if i >= 7 {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(line)
		name := s.Name
		if normalise {
			name = fmt.Sprintf("%s [%.3g, %.3g]", s.Name, lo, hi)
		}
		p.Legend.Add(name, line)
	}
	p.BackgroundColor = color.White
	wt, err := p.WriterTo(8*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return fmt.Errorf("bbtoy: plot %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return fmt.Errorf("bbtoy: plot %s: %w", path, err)
	}
	if err := atomicfile.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("bbtoy: plot: %w", err)
	}
	return nil
}
