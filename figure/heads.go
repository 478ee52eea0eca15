package figure

import (
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/sinkscope/sinkscope/analysis"
)

// headGrid is a layer × head matrix of values as a plotter.GridXYZ: columns
// are heads, rows are layers (layer 0 at the bottom).
type headGrid struct {
	layers, heads int
	z             []float64 // [layers*heads], layer-major
}

func (g headGrid) Dims() (c, r int)   { return g.heads, g.layers }
func (g headGrid) Z(c, r int) float64 { return g.z[r*g.heads+c] }
func (g headGrid) X(c int) float64    { return float64(c) }
func (g headGrid) Y(r int) float64    { return float64(r) }

// heatPanel is one heatmap with its colour scale.
type heatPanel struct {
	title, barLabel string
	grid            headGrid
	cmap            palette.ColorMap
}

// Heads draws, for each report (one row of panels), a layer × head heatmap
// of first_attn per domain on a fixed 0–1 scale, then the difference of the
// first two domains on a −1–1 diverging scale, each with its colour bar, and
// returns the PNG bytes.
func Heads(reps []*analysis.Report) ([]byte, error) {
	var rows [][]heatPanel
	cols := 0
	for _, run := range reps {
		var row []heatPanel
		for _, d := range run.Domains {
			g := headGrid{layers: run.Info.Layers, heads: run.Info.Heads}
			for _, r := range d.Result.HeadRes {
				g.z = append(g.z, r.FirstAttn)
			}
			cm := moreland.ExtendedBlackBody()
			cm.SetMin(0)
			cm.SetMax(1)
			row = append(row, heatPanel{
				title:    fmt.Sprintf("%s\ndomain %s: first_attn (%d seqs)", run.Label, d.Name, d.Result.NSeqs),
				barLabel: "first_attn (mean attention on token 0)",
				grid:     g, cmap: cm,
			})
		}
		if len(run.Domains) >= 2 {
			a, b := row[0].grid.z, row[1].grid.z
			g := headGrid{layers: run.Info.Layers, heads: run.Info.Heads, z: make([]float64, len(a))}
			for i := range a {
				g.z[i] = a[i] - b[i]
			}
			cm := moreland.SmoothBlueRed()
			cm.SetMin(-1)
			cm.SetMax(1)
			row = append(row, heatPanel{
				title:    fmt.Sprintf("%s\nfirst_attn: %s − %s", run.Label, run.Domains[0].Name, run.Domains[1].Name),
				barLabel: fmt.Sprintf("first_attn difference (%s − %s)", run.Domains[0].Name, run.Domains[1].Name),
				grid:     g, cmap: cm,
			})
		}
		cols = max(cols, len(row))
		rows = append(rows, row)
	}
	const pw, ph, bw = 4.4 * vg.Inch, 3.6 * vg.Inch, 1.4 * vg.Inch
	W, H := vg.Length(cols)*(pw+bw), vg.Length(len(rows))*ph
	img := vgimg.NewWith(vgimg.UseWH(W, H), vgimg.UseDPI(110), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	for r, row := range rows {
		for c, p := range row {
			x0, y0 := vg.Length(c)*(pw+bw), H-vg.Length(r+1)*ph
			heat := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x0 + pw, Y: y0 + ph}}}
			bar := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: x0 + pw, Y: y0}, Max: vg.Point{X: x0 + pw + bw, Y: y0 + ph}}}
			if err := drawPanel(heat, bar, p); err != nil {
				return nil, err
			}
		}
	}
	return encode(img)
}

func drawPanel(heat, bar draw.Canvas, p heatPanel) error {
	hp := plot.New()
	hp.Title.Text = p.title
	hp.X.Label.Text = "head"
	hp.Y.Label.Text = "layer"
	hm := plotter.NewHeatMap(p.grid, p.cmap.Palette(255))
	hm.Min, hm.Max = p.cmap.Min(), p.cmap.Max()
	hm.Underflow, hm.Overflow = hm.Palette.Colors()[0], hm.Palette.Colors()[254]
	hm.NaN = color.Gray{Y: 200}
	hp.Add(hm)
	if p.grid.layers*p.grid.heads <= 128 {
		if err := addCellLabels(hp, p); err != nil {
			return err
		}
	}
	hp.X.Min, hp.X.Max = -0.5, float64(p.grid.heads)-0.5
	hp.Y.Min, hp.Y.Max = -0.5, float64(p.grid.layers)-0.5
	hp.X.Tick.Marker = indexTicks(p.grid.heads)
	hp.Y.Tick.Marker = indexTicks(p.grid.layers)
	hp.Draw(heat)

	bp := plot.New()
	bp.HideX()
	bp.Y.Label.Text = p.barLabel
	bp.Add(&plotter.ColorBar{ColorMap: p.cmap, Vertical: true})
	bp.Y.Min, bp.Y.Max = p.cmap.Min(), p.cmap.Max()
	bp.Title.Text = "\n"
	bp.Draw(draw.Crop(bar, 0.1*vg.Inch, -0.35*vg.Inch, 0, 0))
	return nil
}

// indexTicks labels 0..n−1, thinned so that at most about 16 labels show.
func indexTicks(n int) plot.Ticker {
	step := max(1, (n+15)/16)
	var ts plot.ConstantTicks
	for i := 0; i < n; i++ {
		t := plot.Tick{Value: float64(i)}
		if i%step == 0 {
			t.Label = strconv.Itoa(i)
		}
		ts = append(ts, t)
	}
	return ts
}

// addCellLabels writes each cell's value (2 decimals) on small heatmaps, in
// white on dark cells and black on light ones.
func addCellLabels(hp *plot.Plot, p heatPanel) error {
	var xy plotter.XYLabels
	for r := 0; r < p.grid.layers; r++ {
		for c := 0; c < p.grid.heads; c++ {
			z := p.grid.Z(c, r)
			xy.XYs = append(xy.XYs, plotter.XY{X: float64(c), Y: float64(r)})
			s := strconv.FormatFloat(z, 'f', 2, 64)
			if s == "-0.00" {
				s = "0.00"
			}
			xy.Labels = append(xy.Labels, s)
		}
	}
	labels, err := plotter.NewLabels(xy)
	if err != nil {
		return fmt.Errorf("--plot: %w", err)
	}
	for i := range labels.TextStyle {
		sty := &labels.TextStyle[i]
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YCenter
		sty.Font.Size = vg.Points(7)
		if !light(p.cmap, p.grid.z[i]) {
			sty.Color = color.White
		}
	}
	hp.Add(labels)
	return nil
}

// light reports whether v's colour under cmap is light (so dark text reads on it).
func light(cmap palette.ColorMap, v float64) bool {
	v = min(max(v, cmap.Min()), cmap.Max())
	c, err := cmap.At(v)
	if err != nil {
		return true
	}
	r, g, b, _ := c.RGBA()
	return 0.299*float64(r)+0.587*float64(g)+0.114*float64(b) > 0.5*0xffff
}
