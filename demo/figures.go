package demo

import (
	"fmt"
	"image"
)

// ConvFigure builds the study's Figure 1: the photo in grayscale, its shorter side resized to size
// pixels (bilinear; size <= 0 keeps the photo's size) with values in [0, 1], and the same image
// filtered with f by Conv2D (SAME padding). The filtered image is min-max scaled to 0–255 for display,
// as its values leave [0, 1]; its title gives the range that was scaled.
func ConvFigure(img image.Image, f Filter, size int) ([]Panel, error) {
	gray, err := prepare(Grayscale(img), size)
	if err != nil {
		return nil, err
	}
	out, err := Convolve(gray, f)
	if err != nil {
		return nil, err
	}
	in, err := gray.Image(Clip)
	if err != nil {
		return nil, err
	}
	shown, err := out.Image(MinMax)
	if err != nil {
		return nil, err
	}
	lo, hi := out.Range()
	return []Panel{
		{Title: fmt.Sprintf("input: grayscale %v", gray.Shape()), Image: in},
		{Title: fmt.Sprintf("%s %d×%d, SAME → %v\nvalues [%.3g, %.3g] min-max scaled to 0–255", f.Name, f.Size, f.Size, out.Shape(), lo, hi),
			Image: shown},
	}, nil
}

// PoolFigure builds the study's Figure 2 from the photo in RGB, its shorter side resized to size pixels
// (bilinear; size <= 0 keeps the photo's size): the input, 2×2 max pooling and 2×2 average pooling
// (stride 2, VALID, each channel on its own, so the results stay RGB), and depthwise max pooling across
// the three channels (ksize (1, 1, 1, 3): one gray plane). All four work on the same (1, 3, H, W)
// tensor, so the panels compare the operations on one input; depthwise pooling needs several channels,
// which is why the input is the colour photo rather than a filtered grayscale image. The input and the
// depthwise result are shown enlarged zoom times, the 2×2 results 2·zoom times, so that all panels have
// about the same size and each pooled pixel shows as a block; titles give the true NCHW shapes.
func PoolFigure(img image.Image, size, zoom int) ([]Panel, error) {
	zoom = max(zoom, 1)
	rgb, err := prepare(RGB(img), size)
	if err != nil {
		return nil, err
	}
	maxed, err := MaxPool(rgb, 2)
	if err != nil {
		return nil, err
	}
	averaged, err := AvgPool(rgb, 2)
	if err != nil {
		return nil, err
	}
	depth, err := DepthwiseMaxPool(rgb, 3)
	if err != nil {
		return nil, err
	}
	panels := []struct {
		title string
		p     Planes
		zoom  int
	}{
		{fmt.Sprintf("input: RGB %v", rgb.Shape()), rgb, zoom},
		{fmt.Sprintf("max pool 2×2, stride 2 → %v", maxed.Shape()), maxed, 2 * zoom},
		{fmt.Sprintf("average pool 2×2, stride 2 → %v", averaged.Shape()), averaged, 2 * zoom},
		{fmt.Sprintf("depthwise max pool, ksize (1, 1, 1, 3) → %v", depth.Shape()), depth, zoom},
	}
	out := make([]Panel, len(panels))
	for i, p := range panels {
		im, err := p.p.Image(Clip)
		if err != nil {
			return nil, err
		}
		out[i] = Panel{Title: p.title, Image: im, Zoom: p.zoom}
	}
	return out, nil
}

// prepare resizes p so that its shorter side is size pixels (size <= 0: unchanged).
func prepare(p Planes, size int) (Planes, error) {
	if size <= 0 {
		return p, p.check()
	}
	return ResizeShorter(p, size)
}
