package demo

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// solid returns a w×h image of one colour.
func solid(w, h int, c color.Color) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func TestCompose(t *testing.T) {
	red, blue := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}
	panels := []Panel{
		{Title: "", Image: solid(40, 30, red)},
		{Title: "", Image: solid(20, 15, blue), Zoom: 2},
		{Title: "", Image: solid(40, 30, red)},
	}
	cases := []struct {
		name          string
		columns       int
		width, height int
	}{
		{"one row", 0, 3*40 + 4*panelGap, 30 + 2*panelGap},
		{"two columns", 2, 2*40 + 3*panelGap, 2*30 + 3*panelGap},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fig, err := Compose(panels, tc.columns)
			if err != nil {
				t.Fatal(err)
			}
			if b := fig.Bounds(); b.Dx() != tc.width || b.Dy() != tc.height {
				t.Fatalf("figure %v, want %d×%d", b, tc.width, tc.height)
			}
			// In both layouts the zoomed second panel fills the second cell of the first row exactly,
			// from (2·gap + 40, gap).
			x0 := 2*panelGap + 40
			for _, pt := range []image.Point{{x0, panelGap}, {x0 + 39, panelGap + 29}} {
				if got := fig.RGBAAt(pt.X, pt.Y); got != blue {
					t.Fatalf("pixel %v = %v, want blue", pt, got)
				}
			}
			if got := fig.RGBAAt(panelGap-1, panelGap-1); got != (color.RGBA{255, 255, 255, 255}) {
				t.Fatalf("margin pixel %v, want white", got)
			}
		})
	}
	if _, err := Compose(nil, 0); err == nil {
		t.Fatal("no panels: no error")
	}
	if _, err := Compose([]Panel{{Title: "empty"}}, 0); err == nil {
		t.Fatal("panel without image: no error")
	}
}

// TestComposeTitles checks that titles take room above the images and are drawn (some dark pixels).
func TestComposeTitles(t *testing.T) {
	fig, err := Compose([]Panel{{Title: "max pool 2×2 → (1, 3, 4, 4)\nsecond line", Image: solid(8, 8, color.White)}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := fig.Bounds()
	if b.Dy() < 8+2*panelGap+2*titleSize {
		t.Fatalf("figure height %d leaves no room for two title lines", b.Dy())
	}
	dark := 0
	for y := range b.Dy() {
		for x := range b.Dx() {
			if c := fig.RGBAAt(x, y); c.R < 128 {
				dark++
			}
		}
	}
	if dark == 0 {
		t.Fatal("no title text drawn")
	}
}

func TestWritePNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "fig.png")
	if err := WritePNG(path, solid(3, 2, color.RGBA{10, 20, 30, 255})); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if r, g, b, _ := img.At(2, 1).RGBA(); r>>8 != 10 || g>>8 != 20 || b>>8 != 30 {
		t.Fatalf("pixel (%d, %d, %d), want (10, 20, 30)", r>>8, g>>8, b>>8)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Fatalf("folder holds %d entries (%v), want the PNG only", len(entries), err)
	}
}
