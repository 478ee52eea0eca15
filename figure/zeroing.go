package figure

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sinkscope/sinkscope/analysis"
)

// Zeroing draws the calibrated zeroing curves of the reports, one panel per
// (model, domain) with a line per rule: Δloss against the fraction of
// (head, sequence) pairs zeroed. It returns the PNG bytes.
func Zeroing(reps []*analysis.Report) ([]byte, error) {
	type panel struct {
		title  string
		curves []analysis.Curve
	}
	var panels []panel
	for _, r := range reps {
		for _, d := range r.Domains {
			if len(d.Curves) > 0 {
				panels = append(panels, panel{fmt.Sprintf("%s, domain %s: calibrated zeroing (%d seqs)", r.Label, d.Name, d.Result.NSeqs), d.Curves})
			}
		}
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("figure: no zeroing curves to draw")
	}
	const pw, ph = 6 * vg.Inch, 4 * vg.Inch
	H := vg.Length(len(panels)) * ph
	img := vgimg.NewWith(vgimg.UseWH(pw, H), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	for k, p := range panels {
		pl := plot.New()
		pl.Title.Text = p.title
		pl.X.Label.Text = "fraction of (head, sequence) pairs zeroed"
		pl.Y.Label.Text = "Δloss (nats, mean over sequences)"
		pl.Legend.Top, pl.Legend.Left = true, true
		for i, c := range p.curves {
			var pts plotter.XYs
			for _, pt := range c.Points {
				if !math.IsNaN(pt.DLoss) {
					pts = append(pts, plotter.XY{X: pt.Zeroed, Y: pt.DLoss})
				}
			}
			line, points, err := plotter.NewLinePoints(pts)
			if err != nil {
				return nil, fmt.Errorf("figure: %s: %w", c.Rule, err)
			}
			col := plotutil.Color(i)
			line.Color, points.Color = col, col
			points.Shape = plotutil.Shape(i)
			pl.Add(line, points)
			pl.Legend.Add(c.Rule.String(), line, points)
		}
		y0, y1 := H-vg.Length(k+1)*ph, H-vg.Length(k)*ph
		pl.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: 0, Y: y0}, Max: vg.Point{X: pw, Y: y1}}})
	}
	return encode(img)
}
