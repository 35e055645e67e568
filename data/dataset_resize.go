package data

import (
	"fmt"
	"math"
)

// Resized returns a copy of d with every image resized to h×w the way Keras' Resizing layer (and
// tf.image.resize, bilinear, no antialiasing: half-pixel centres) computes it, with ResizeBilinear's
// arithmetic, then rounded to the nearest byte. Labels and class names are shared. Upscaling 28×28
// Fashion-MNIST images gives a network whose stem downsamples by 4 larger feature maps to work on.
func (d *Dataset) Resized(h, w int) (*Dataset, error) {
	if h <= 0 || w <= 0 || h > maxResizeSide || w > maxResizeSide {
		return nil, fmt.Errorf("data: resize to %d×%d: sides must be in [1, %d]: %w", h, w, maxResizeSide, ErrArgument)
	}
	if d.H <= 0 || d.W <= 0 || d.C <= 0 {
		return nil, fmt.Errorf("data: resize of %d×%d×%d images: %w", d.H, d.W, d.C, ErrArgument)
	}
	r := *d
	r.H, r.W = h, w
	r.Pixels = make([]uint8, d.N*h*w*d.C)
	var xs, ys axis
	xs.set(0, d.W, w, false, d.C)
	ys.set(0, d.H, h, false, d.W*d.C)
	in, out := d.SampleSize(), r.SampleSize()
	for i := range d.N {
		resizeImageBytes(r.Pixels[i*out:(i+1)*out], d.Pixels[i*in:(i+1)*in], &xs, &ys, d.C)
	}
	return &r, nil
}

// resizeImageBytes writes src (H×W×c bytes) resized along the prepared axes into dst.
func resizeImageBytes(dst, src []uint8, xs, ys *axis, c int) {
	w := len(xs.lo)
	for oy := range ys.lo {
		top, bot, fy := src[ys.lo[oy]:], src[ys.hi[oy]:], ys.frac[oy]
		for ox := range w {
			l, hi, fx := xs.lo[ox], xs.hi[ox], xs.frac[ox]
			for k := range c {
				t := lerp(float32(top[l+k]), float32(top[hi+k]), fx)
				b := lerp(float32(bot[l+k]), float32(bot[hi+k]), fx)
				v := lerp(t, b, fy)
				dst[(oy*w+ox)*c+k] = uint8(min(max(math.Round(float64(v)), 0), 255))
			}
		}
	}
}
