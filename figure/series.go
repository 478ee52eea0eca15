package figure

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sinkscope/sinkscope/analysis"
	"github.com/sinkscope/sinkscope/metrics"
)

// seriesLine is one curve: first_attn at each checkpoint.
type seriesLine struct {
	name string
	y    []float64 // [checkpoints]
}

// Series draws first_attn over the series and returns the PNG bytes:
// without heads, one panel per domain with the mean over heads of each layer;
// with heads, one panel with a line per (head, domain). The x axis is the
// training step when every checkpoint's name carries one, else the
// checkpoint's index in the series.
func Series(runs []analysis.SeriesResult, heads []metrics.Head) ([]byte, error) {
	xs := make([]float64, len(runs))
	xLabel := "training step"
	for i, it := range runs {
		if it.Step.Step < 0 || it.Step.Stage > 0 {
			xLabel = "checkpoint (series order)"
		}
		xs[i] = float64(it.Step.Step)
	}
	if xLabel != "training step" {
		for i := range xs {
			xs[i] = float64(i)
		}
	}
	var scale plot.Normalizer
	var ticks plot.Ticker
	if xLabel == "training step" && splitAxis(xs) {
		xLabel = fmt.Sprintf("training step (linear to %s, logarithmic after)", stepTick(splitStep))
		scale = linLogScale{}
		ticks = splitTicks(xs[len(xs)-1])
	}
	info := runs[0].Report.Info
	type panel struct {
		title string
		lines []seriesLine
	}
	var panels []panel
	if len(heads) == 0 {
		for j, d := range runs[0].Report.Domains {
			p := panel{title: fmt.Sprintf("domain %s: mean first_attn per layer (%s × %s)", d.Name, analysis.Plural(info.Layers, "layer"), analysis.Plural(info.Heads, "head"))}
			for l := 0; l < info.Layers; l++ {
				ln := seriesLine{name: fmt.Sprintf("layer %d", l), y: make([]float64, len(runs))}
				for c, run := range runs {
					var sum float64
					for h := 0; h < info.Heads; h++ {
						sum += run.Report.Domains[j].Result.Head(l, h).FirstAttn
					}
					ln.y[c] = sum / float64(info.Heads)
				}
				p.lines = append(p.lines, ln)
			}
			panels = append(panels, p)
		}
	} else {
		p := panel{title: "first_attn of selected heads"}
		for _, hd := range heads {
			for j, d := range runs[0].Report.Domains {
				ln := seriesLine{name: fmt.Sprintf("head %v, %s", hd, d.Name), y: make([]float64, len(runs))}
				for c, run := range runs {
					ln.y[c] = run.Report.Domains[j].Result.Head(hd.Layer, hd.Head).FirstAttn
				}
				p.lines = append(p.lines, ln)
			}
		}
		panels = append(panels, p)
	}

	const pw, ph, lw = 7 * vg.Inch, 4.2 * vg.Inch, 2 * vg.Inch // plot, its height, legend strip
	H := vg.Length(len(panels)) * ph
	img := vgimg.NewWith(vgimg.UseWH(pw+lw, H), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	for k, p := range panels {
		pl := plot.New()
		pl.Title.Text = p.title
		pl.X.Label.Text = xLabel
		pl.Y.Label.Text = "first_attn (mean attention on token 0)"
		pl.Y.Min, pl.Y.Max = 0, 1
		if scale != nil {
			pl.X.Scale, pl.X.Tick.Marker = scale, ticks
		}
		leg := plot.NewLegend() // drawn beside the axes, clear of the curves
		leg.Top, leg.Left = true, true
		if n := len(p.lines); n > 20 { // e.g. 32 layers: shrink the entries to fit the panel's height
			leg.TextStyle.Font.Size = vg.Points(math.Max(4, (ph.Points()-40)/float64(n)/1.25))
		}
		for i, ln := range p.lines {
			pts := make(plotter.XYs, 0, len(xs))
			for c, y := range ln.y {
				if !math.IsNaN(y) {
					pts = append(pts, plotter.XY{X: xs[c], Y: y})
				}
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, fmt.Errorf("figure: %s: %w", ln.name, err)
			}
			col := plotutil.Color(i)
			line.Color, points.Color = col, col
			line.Dashes = plotutil.Dashes(i / 7)
			points.Shape = plotutil.Shape(i)
			points.Radius = vg.Points(2.5)
			pl.Add(line, points)
			leg.Add(ln.name, line, points)
		}
		y0, y1 := H-vg.Length(k+1)*ph, H-vg.Length(k)*ph
		pl.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: 0, Y: y0}, Max: vg.Point{X: pw, Y: y1}}})
		leg.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: pw + 0.1*vg.Inch, Y: y0}, Max: vg.Point{X: pw + lw, Y: y1 - 0.3*vg.Inch}}})
	}
	return encode(img)
}

// splitStep is where the step axis of a long series turns logarithmic, as in
// the paper's OLMo plots (linear to 25K steps, then 25K–449K compressed into
// the same width).
const splitStep = 25000

// splitAxis reports whether steps xs (ascending) call for the split axis:
// some early steps below splitStep and a run reaching past 4 × splitStep.
func splitAxis(xs []float64) bool {
	return len(xs) > 1 && xs[0] < splitStep && xs[len(xs)-1] > 4*splitStep
}

// linLogScale maps [min, splitStep] linearly onto the left half of the axis
// and [splitStep, max] logarithmically onto the right half.
type linLogScale struct{}

func (linLogScale) Normalize(min, max, x float64) float64 {
	if x <= splitStep {
		return 0.5 * (x - min) / (splitStep - min)
	}
	return 0.5 + 0.5*math.Log(x/splitStep)/math.Log(max/splitStep)
}

// splitTicks labels 0, 10K, 25K, 100K, 400K, … up to last, with minor ticks
// every 5K below splitStep.
func splitTicks(last float64) plot.ConstantTicks {
	var ts plot.ConstantTicks
	for x := 0.0; x < splitStep; x += 5000 {
		t := plot.Tick{Value: x}
		if x == 0 || x == 10000 {
			t.Label = stepTick(x)
		}
		ts = append(ts, t)
	}
	for x := float64(splitStep); x <= last; x *= 4 {
		ts = append(ts, plot.Tick{Value: x, Label: stepTick(x)})
	}
	return ts
}

// stepTick writes a step count as 0, 10K, 25K, 1.5M.
func stepTick(x float64) string {
	switch {
	case x >= 1e6:
		return strconv.FormatFloat(x/1e6, 'g', 4, 64) + "M"
	case x >= 1e3:
		return strconv.FormatFloat(x/1e3, 'g', 4, 64) + "K"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}
