package main

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sinkscope/sinkscope/metrics"
)

// seriesLine is one curve: first_attn at each checkpoint.
type seriesLine struct {
	name string
	y    []float64 // [checkpoints]
}

// plotSeries draws first_attn over the series and returns the PNG bytes:
// without heads, one panel per domain with the mean over heads of each layer;
// with heads, one panel with a line per (head, domain). The x axis is the
// training step when every checkpoint's name carries one, else the
// checkpoint's index in the series.
func plotSeries(items []seriesItem, runs []*modelRun, heads []metrics.Head) ([]byte, error) {
	xs := make([]float64, len(items))
	xLabel := "training step"
	for i, it := range items {
		if it.step.Step < 0 || it.step.Stage > 0 {
			xLabel = "checkpoint (series order)"
		}
		xs[i] = float64(it.step.Step)
	}
	if xLabel != "training step" {
		for i := range xs {
			xs[i] = float64(i)
		}
	}
	info := runs[0].info
	type panel struct {
		title string
		lines []seriesLine
	}
	var panels []panel
	if len(heads) == 0 {
		for j, d := range runs[0].domains {
			p := panel{title: fmt.Sprintf("domain %s: mean first_attn per layer (%s × %s)", d.name, plural(info.Layers, "layer"), plural(info.Heads, "head"))}
			for l := 0; l < info.Layers; l++ {
				ln := seriesLine{name: fmt.Sprintf("layer %d", l), y: make([]float64, len(runs))}
				for c, run := range runs {
					var sum float64
					for h := 0; h < info.Heads; h++ {
						sum += run.results[j].Head(l, h).FirstAttn
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
			for j, d := range runs[0].domains {
				ln := seriesLine{name: fmt.Sprintf("head %v, %s", hd, d.name), y: make([]float64, len(runs))}
				for c, run := range runs {
					ln.y[c] = run.results[j].Head(hd.Layer, hd.Head).FirstAttn
				}
				p.lines = append(p.lines, ln)
			}
		}
		panels = append(panels, p)
	}

	const pw, ph = 7 * vg.Inch, 4.2 * vg.Inch
	H := vg.Length(len(panels)) * ph
	img := vgimg.NewWith(vgimg.UseWH(pw, H), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	for k, p := range panels {
		pl := plot.New()
		pl.Title.Text = p.title
		pl.X.Label.Text = xLabel
		pl.Y.Label.Text = "first_attn (mean attention on token 0)"
		pl.Y.Min, pl.Y.Max = 0, 1
		pl.Legend.Top = true
		pl.Legend.Left = true
		for i, ln := range p.lines {
			pts := make(plotter.XYs, 0, len(xs))
			for c, y := range ln.y {
				if !math.IsNaN(y) {
					pts = append(pts, plotter.XY{X: xs[c], Y: y})
				}
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, fmt.Errorf("--plot: %s: %w", ln.name, err)
			}
			col := plotutil.Color(i)
			line.Color, points.Color = col, col
			line.Dashes = plotutil.Dashes(i / 7)
			points.Shape = plotutil.Shape(i)
			points.Radius = vg.Points(2.5)
			pl.Add(line, points)
			pl.Legend.Add(ln.name, line, points)
		}
		c := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: 0, Y: H - vg.Length(k+1)*ph},
			Max: vg.Point{X: pw, Y: H - vg.Length(k)*ph},
		}}
		pl.Draw(c)
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("--plot: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}
