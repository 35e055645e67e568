package demo

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Panel is one titled image of a figure.
type Panel struct {
	// Title is drawn centred above the image; "\n" starts a new line.
	Title string
	Image image.Image
	// Zoom enlarges the image by an integer factor with nearest-neighbour sampling, so that every pixel
	// stays visible as a square (0 or 1: actual size).
	Zoom int
}

// Figure layout, in pixels.
const (
	panelGap   = 16 // between panels and around the figure
	titleSize  = 15 // title font size (points, drawn at 72 dpi: pixels)
	titleSpace = 8  // between a title and its image
)

// titleStyle is the text style of panel titles.
func titleStyle() text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, titleSize),
		XAlign:  vgdraw.XCenter,
		YAlign:  vgdraw.YTop,
		Handler: plot.DefaultTextHandler,
	}
}

// Compose lays panels out on a white background, columns per row (0: all in one row), each image under
// its title and centred in a cell as wide as the widest panel or title.
func Compose(panels []Panel, columns int) (*image.RGBA, error) {
	if len(panels) == 0 {
		return nil, fmt.Errorf("compose: no panels")
	}
	if columns <= 0 || columns > len(panels) {
		columns = len(panels)
	}
	rows := (len(panels) + columns - 1) / columns
	sty := titleStyle()
	imgs := make([]image.Image, len(panels))
	var cellW, imgH, titleH int
	for i, p := range panels {
		if p.Image == nil || p.Image.Bounds().Empty() {
			return nil, fmt.Errorf("compose: panel %d (%q) has no image", i+1, p.Title)
		}
		imgs[i] = enlarge(p.Image, max(p.Zoom, 1))
		b := imgs[i].Bounds()
		cellW = max(cellW, b.Dx(), int(math.Ceil(float64(sty.Width(p.Title)))))
		imgH = max(imgH, b.Dy())
		if strings.TrimSpace(p.Title) != "" {
			titleH = max(titleH, int(math.Ceil(float64(sty.Height(p.Title))))+titleSpace)
		}
	}
	cellH := titleH + imgH
	width := columns*cellW + (columns+1)*panelGap
	height := rows*cellH + (rows+1)*panelGap
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(width), vg.Length(height)), vgimg.UseDPI(72))
	dc := vgdraw.New(c)
	for i, p := range panels {
		x0 := panelGap + (i%columns)*(cellW+panelGap)
		y0 := panelGap + (i/columns)*(cellH+panelGap)
		// vg's y axis points up from the bottom edge.
		dc.FillText(sty, vg.Point{X: vg.Length(x0) + vg.Length(cellW)/2, Y: vg.Length(height - y0)}, p.Title)
		b := imgs[i].Bounds()
		at := image.Pt(x0+(cellW-b.Dx())/2, y0+titleH)
		out := c.Image()
		draw.Draw(out, image.Rectangle{Min: at, Max: at.Add(b.Size())}, imgs[i], b.Min, draw.Src)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(rgba, rgba.Bounds(), c.Image(), image.Point{}, draw.Src)
	return rgba, nil
}

// enlarge enlarges img by an integer factor, repeating every pixel f×f times.
func enlarge(img image.Image, f int) image.Image {
	if f == 1 {
		return img
	}
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()*f, b.Dy()*f))
	for y := range b.Dy() * f {
		for x := range b.Dx() * f {
			out.Set(x, y, img.At(b.Min.X+x/f, b.Min.Y+y/f))
		}
	}
	return out
}

// WritePNG writes img to path as a PNG, creating path's folder if needed. The file appears whole or
// not at all: it is written to a temporary file beside path, then renamed.
func WritePNG(path string, img image.Image) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := png.Encode(f, img); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
