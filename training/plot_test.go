package training

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// syntheticHistory returns n epochs of smooth learning curves; val is NaN
// where noVal is true.
func syntheticHistory(model string, n int, rate float64, noVal bool) *History {
	h := &History{Model: model}
	for e := 1; e <= n; e++ {
		x := float64(e)
		r := EpochRecord{
			Epoch:         e,
			TrainLoss:     0.1 + 2*math.Exp(-rate*x),
			TrainAccuracy: 0.99 - 0.6*math.Exp(-rate*x),
			ValLoss:       0.15 + 2*math.Exp(-rate*x*0.8),
			ValAccuracy:   0.97 - 0.6*math.Exp(-rate*x*0.8),
		}
		if noVal {
			r.ValLoss, r.ValAccuracy = math.NaN(), math.NaN()
		}
		h.Epochs = append(h.Epochs, r)
	}
	return h
}

// decodePNG checks that path holds a PNG of a plausible size and returns it.
func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() < 300 || b.Dy() < 200 {
		t.Fatalf("%s: image only %v", path, b)
	}
	return img
}

// countColor counts the pixels close to c.
func countColor(img image.Image, c color.Color) int {
	cr, cg, cb, _ := c.RGBA()
	near := func(a, b uint32) bool { return max(a, b)-min(a, b) < 0x1800 }
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r, cr) && near(g, cg) && near(bl, cb) {
				n++
			}
		}
	}
	return n
}

func TestPlotHistory(t *testing.T) {
	nanMiddle := syntheticHistory("nan", 6, 0.5, false)
	nanMiddle.Epochs[2].ValLoss = math.NaN()
	nanMiddle.Epochs[3].TrainAccuracy = math.Inf(1)
	allNaN := syntheticHistory("diverged", 3, 0.5, true)
	for i := range allNaN.Epochs {
		allNaN.Epochs[i].TrainLoss = math.NaN()
	}
	tests := []struct {
		name       string
		h          *History
		wantColors bool // both train and validation curves visible
	}{
		{"ten epochs", syntheticHistory("cnn", 10, 0.4, false), true},
		{"single epoch", syntheticHistory("one", 1, 0.4, false), true},
		{"many epochs", syntheticHistory("long", 200, 0.05, false), true},
		{"nan values", nanMiddle, true},
		{"no validation", syntheticHistory("noval", 5, 0.4, true), false},
		{"all nan loss", allNaN, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "plots")
			files, err := PlotHistory(tt.h, dir)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{filepath.Join(dir, "accuracy.png"), filepath.Join(dir, "loss.png")}
			if strings.Join(files, ",") != strings.Join(want, ",") {
				t.Fatalf("files %v, want %v", files, want)
			}
			for _, f := range files {
				img := decodePNG(t, f)
				if tt.wantColors {
					if countColor(img, paletteColor(0)) < 20 || countColor(img, paletteColor(1)) < 20 {
						t.Errorf("%s: train or validation curve missing", f)
					}
				}
			}
		})
	}
}

func TestPlotHistoryErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := PlotHistory(nil, dir); err == nil {
		t.Error("nil history: no error")
	}
	if _, err := PlotHistory(&History{Model: "m"}, dir); err == nil {
		t.Error("empty history: no error")
	}
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := PlotHistory(syntheticHistory("m", 2, 1, false), filepath.Join(blocker, "sub")); err == nil {
		t.Error("directory under a file: no error")
	}
}

func TestPlotComparison(t *testing.T) {
	runs := []Run{
		{Name: "CNN", History: syntheticHistory("cnn", 12, 0.5, false)},
		{Name: "FCN", History: syntheticHistory("fcn", 12, 0.2, false)},
		{History: syntheticHistory("squeezenet", 1, 0.2, false)},
	}
	tests := []struct {
		name   string
		metric string
		file   string
	}{
		{"accuracy png", "accuracy", "acc.png"},
		{"loss png", "loss", "loss.png"},
		{"accuracy svg", "accuracy", "acc.svg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.file)
			if err := PlotComparison(runs, tt.metric, path); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(path, ".png") {
				if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
					t.Fatalf("no output: %v", err)
				}
				return
			}
			img := decodePNG(t, path)
			for i := range runs {
				if countColor(img, paletteColor(i)) < 20 {
					t.Errorf("run %d colour missing", i)
				}
			}
		})
	}
}

func TestPlotComparisonErrors(t *testing.T) {
	dir := t.TempDir()
	good := []Run{{Name: "a", History: syntheticHistory("a", 3, 1, false)}}
	tests := []struct {
		name   string
		runs   []Run
		metric string
		path   string
	}{
		{"bad metric", good, "f1", filepath.Join(dir, "x.png")},
		{"no runs", nil, "loss", filepath.Join(dir, "x.png")},
		{"nil history", []Run{{Name: "a"}}, "loss", filepath.Join(dir, "x.png")},
		{"no extension", good, "loss", filepath.Join(dir, "x")},
		{"unknown format", good, "loss", filepath.Join(dir, "x.bmp")},
		{"missing directory", good, "loss", filepath.Join(dir, "no", "x.png")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := PlotComparison(tt.runs, tt.metric, tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %v, want one naming %s", err, tt.path)
			}
		})
	}
}

func TestIntegerTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []float64
	}{
		{0.7, 3.3, []float64{1, 2, 3}},
		{0, 10, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{1, 30, []float64{5, 10, 15, 20, 25, 30}},
		{-5, 205, []float64{0, 50, 100, 150, 200}},
	}
	for _, tt := range tests {
		got := integerTicks(tt.lo, tt.hi)
		if len(got) != len(tt.want) {
			t.Errorf("[%v, %v]: got %v, want %v", tt.lo, tt.hi, got, tt.want)
			continue
		}
		for i := range got {
			if got[i].Value != tt.want[i] {
				t.Errorf("[%v, %v]: got %v, want %v", tt.lo, tt.hi, got, tt.want)
				break
			}
		}
	}
	if ticks := integerTicks(0, math.Inf(1)); len(ticks) != 0 {
		t.Errorf("infinite range gave %d ticks", len(ticks))
	}
}
