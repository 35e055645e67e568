package training

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Run is one training run in a comparison plot.
type Run struct {
	Name    string
	History *History
}

// Plot geometry and style.
const (
	plotWidth  = 7 * vg.Inch
	plotHeight = 4.5 * vg.Inch
	plotMargin = 8 * vg.Millimeter / 2 // 4 mm
	// markerLimit is the largest number of points per curve that still
	// gets a marker on every point; longer curves are plain lines.
	markerLimit = 30
)

// PlotHistory writes the learning curves of h into dir as accuracy.png
// (training and validation accuracy against epoch) and loss.png (training
// and validation loss against epoch), titled with h.Model, and returns the
// paths written. dir is created if needed. Non-finite values are skipped,
// so a run without validation data gets only the training curve; a metric
// with no finite values at all still gets a (blank) plot.
func PlotHistory(h *History, dir string) (files []string, err error) {
	if h == nil {
		return nil, errors.New("plot history: nil history")
	}
	if len(h.Epochs) == 0 {
		return nil, fmt.Errorf("plot history of %q: no epochs", h.Model)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plot history: %w", err)
	}
	for _, metric := range []string{"accuracy", "loss"} {
		m, err := lookupCurveMetric(metric)
		if err != nil {
			return files, err
		}
		title := metric
		if h.Model != "" {
			title = h.Model + ": " + metric
		}
		p := newCurvePlot(title, m.label)
		trainColor, valColor := paletteColor(0), paletteColor(1)
		var n int
		n += addCurve(p, epochSeries(h, m.train), trainColor, false, "train")
		n += addCurve(p, epochSeries(h, m.val), valColor, false, "validation")
		finishPlot(p, m, n)
		path := filepath.Join(dir, metric+".png")
		if err := savePlot(p, path); err != nil {
			return files, fmt.Errorf("plot history: %w", err)
		}
		files = append(files, path)
	}
	return files, nil
}

// PlotComparison draws one metric ("accuracy" or "loss") of several runs
// on one plot saved to path: one colour per run, validation curves solid
// and training curves dashed. The image format follows the extension of
// path (.png, .svg, .pdf, ...). Non-finite values are skipped.
func PlotComparison(runs []Run, metric string, path string) error {
	m, err := lookupCurveMetric(metric)
	if err != nil {
		return fmt.Errorf("plot comparison %s: %w", path, err)
	}
	if len(runs) == 0 {
		return fmt.Errorf("plot comparison %s: no runs", path)
	}
	for i, r := range runs {
		if r.History == nil {
			return fmt.Errorf("plot comparison %s: run %d (%q) has no history", path, i+1, r.Name)
		}
	}
	p := newCurvePlot("validation (solid) and training (dashed) "+metric, m.label)
	var n int
	for i, r := range runs {
		name := r.Name
		if name == "" {
			name = cmp.Or(r.History.Model, "run "+strconv.Itoa(i+1))
		}
		c := paletteColor(i)
		n += addCurve(p, epochSeries(r.History, m.val), c, false, name+" val")
		n += addCurve(p, epochSeries(r.History, m.train), c, true, name+" train")
	}
	finishPlot(p, m, n)
	if err := savePlot(p, path); err != nil {
		return fmt.Errorf("plot comparison: %w", err)
	}
	return nil
}

// curveMetric describes how to plot one kind of learning curve.
type curveMetric struct {
	label      string
	train, val func(EpochRecord) float64
	// legendTop places the legend at the top, where falling curves
	// (loss) leave room; rising curves (accuracy) get it at the bottom.
	legendTop bool
}

func lookupCurveMetric(name string) (curveMetric, error) {
	switch name {
	case "accuracy":
		return curveMetric{
			label: "accuracy",
			train: func(r EpochRecord) float64 { return r.TrainAccuracy },
			val:   func(r EpochRecord) float64 { return r.ValAccuracy },
		}, nil
	case "loss":
		return curveMetric{
			label:     "loss",
			train:     func(r EpochRecord) float64 { return r.TrainLoss },
			val:       func(r EpochRecord) float64 { return r.ValLoss },
			legendTop: true,
		}, nil
	}
	return curveMetric{}, fmt.Errorf("unknown metric %q (want \"accuracy\" or \"loss\")", name)
}

// epochSeries returns the finite (epoch, value) points of h, by epoch.
func epochSeries(h *History, value func(EpochRecord) float64) plotter.XYs {
	xys := make(plotter.XYs, 0, len(h.Epochs))
	for _, r := range h.Epochs {
		y := value(r)
		if math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: float64(r.Epoch), Y: y})
	}
	slices.SortStableFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
	return xys
}

func newCurvePlot(title, ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = ylabel
	p.X.Tick.Marker = plot.TickerFunc(integerTicks)
	p.Add(plotter.NewGrid())
	return p
}

// addCurve adds a line (with markers when it has few points) and its
// legend entry; it returns the number of points added.
func addCurve(p *plot.Plot, xys plotter.XYs, c color.Color, dashed bool, label string) int {
	if len(xys) == 0 {
		return 0
	}
	line, err := plotter.NewLine(xys)
	if err != nil {
		return 0 // cannot happen: xys holds finite values only
	}
	line.Color = c
	line.Width = vg.Points(1.5)
	if dashed {
		line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
	}
	p.Add(line)
	thumbs := []plot.Thumbnailer{line}
	if len(xys) <= markerLimit {
		points, err := plotter.NewScatter(xys)
		if err == nil {
			points.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(points)
			thumbs = append(thumbs, points)
		}
	}
	p.Legend.Add(label, thumbs...)
	return len(xys)
}

// finishPlot places the legend, pads the axes and marks empty plots.
func finishPlot(p *plot.Plot, m curveMetric, points int) {
	p.Legend.Top = m.legendTop
	p.Legend.XOffs = -vg.Points(8)
	p.Legend.YOffs = vg.Points(6)
	if m.legendTop {
		p.Legend.YOffs = -vg.Points(6)
	}
	if points == 0 {
		p.Title.Text += " (no finite values)"
		return
	}
	// Leave a margin around the data so that curves and markers do not
	// sit on the frame; a single epoch gets one epoch of room each side.
	pad := func(lo, hi, frac, minPad float64) (float64, float64) {
		d := math.Max((hi-lo)*frac, minPad)
		return lo - d, hi + d
	}
	p.X.Min, p.X.Max = pad(p.X.Min, p.X.Max, 0.03, 0)
	if p.X.Min == p.X.Max {
		p.X.Min, p.X.Max = p.X.Min-1, p.X.Max+1
	}
	minY := 1e-3 * math.Max(math.Abs(p.Y.Min), math.Abs(p.Y.Max))
	p.Y.Min, p.Y.Max = pad(p.Y.Min, p.Y.Max, 0.05, minY)
	if p.Y.Min == p.Y.Max { // all values zero
		p.Y.Min, p.Y.Max = -1, 1
	}
}

// integerTicks labels whole epochs only, choosing a step of 1, 2, 5, 10,
// 20, 50, ... so that at most about ten ticks are shown.
func integerTicks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if math.IsNaN(span) || math.IsInf(span, 0) || span <= 0 {
		return nil // gonum sanitizes ranges first; never loop on Inf
	}
	step := 1.0
	for mult := 0; span/step > 10; mult++ {
		step *= []float64{2, 2.5, 2}[mult%3] // 1, 2, 5, 10, 20, 50, ...
	}
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	if len(ticks) < 2 {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	return ticks
}

// paletteColor returns the i-th colour of a palette of ten colours that
// stay distinguishable on white (the common "category 10" colours).
func paletteColor(i int) color.Color {
	palette := [...]color.RGBA{
		{0x1f, 0x77, 0xb4, 0xff}, // blue
		{0xff, 0x7f, 0x0e, 0xff}, // orange
		{0x2c, 0xa0, 0x2c, 0xff}, // green
		{0xd6, 0x27, 0x28, 0xff}, // red
		{0x94, 0x67, 0xbd, 0xff}, // purple
		{0x8c, 0x56, 0x4b, 0xff}, // brown
		{0xe3, 0x77, 0xc2, 0xff}, // pink
		{0x7f, 0x7f, 0x7f, 0xff}, // grey
		{0xbc, 0xbd, 0x22, 0xff}, // olive
		{0x17, 0xbe, 0xcf, 0xff}, // cyan
	}
	return palette[i%len(palette)]
}

// savePlot renders p in the format named by the extension of path and
// writes it atomically.
func savePlot(p *plot.Plot, path string) error {
	format := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if format == "" {
		return fmt.Errorf("%s: no file extension to choose the image format", path)
	}
	c, err := draw.NewFormattedCanvas(plotWidth, plotHeight, format)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// gonum draws up to the canvas edge; keep a margin so that the last
	// tick label and the legend are not cut off.
	m := plotMargin
	p.Draw(draw.Crop(draw.New(c), m, -m, m, -m))
	return writeFileAtomic(path, func(w io.Writer) error {
		_, err := c.WriteTo(w)
		return err
	})
}
