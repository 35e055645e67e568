package demo

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

func TestFigures(t *testing.T) {
	// A 20×30 photo: red left half, blue right half.
	img := image.NewRGBA(image.Rect(0, 0, 30, 20))
	for y := range 20 {
		for x := range 30 {
			c := color.RGBA{200, 0, 0, 255}
			if x >= 15 {
				c = color.RGBA{0, 0, 100, 255}
			}
			img.Set(x, y, c)
		}
	}
	sharpen, _ := LookupFilter("sharpen")
	conv, err := ConvFigure(img, sharpen, 10)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := PoolFigure(img, 10, 1)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		panels []Panel
		titles []string // a substring of each panel's title
		sizes  []image.Point
	}{
		{"conv", conv, []string{"grayscale (1, 1, 10, 15)", "sharpen 3×3, SAME → (1, 1, 10, 15)"},
			[]image.Point{{15, 10}, {15, 10}}},
		{"pool", pool, []string{"RGB (1, 3, 10, 15)", "max pool 2×2, stride 2 → (1, 3, 5, 7)",
			"average pool 2×2, stride 2 → (1, 3, 5, 7)", "ksize (1, 1, 1, 3) → (1, 1, 10, 15)"},
			[]image.Point{{15, 10}, {7, 5}, {7, 5}, {15, 10}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.panels) != len(tc.titles) {
				t.Fatalf("%d panels, want %d", len(tc.panels), len(tc.titles))
			}
			for i, p := range tc.panels {
				if !strings.Contains(p.Title, tc.titles[i]) {
					t.Errorf("panel %d title %q, want it to contain %q", i+1, p.Title, tc.titles[i])
				}
				if got := p.Image.Bounds().Size(); got != tc.sizes[i] {
					t.Errorf("panel %d image %v, want %v", i+1, got, tc.sizes[i])
				}
			}
		})
	}
	// Depthwise max pooling of red (200, 0, 0) and dark blue (0, 0, 100) keeps 200 and 100.
	depth := pool[3].Image
	if r, _, _, _ := depth.At(0, 0).RGBA(); r>>8 != 200 {
		t.Errorf("depthwise pooled red pixel %d, want 200", r>>8)
	}
	if r, _, _, _ := depth.At(14, 9).RGBA(); r>>8 != 100 {
		t.Errorf("depthwise pooled blue pixel %d, want 100", r>>8)
	}
}
