package demo

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"

	"gorgonia.org/tensor"
)

// Planes is an image as C planes of H×W float32 values, channel-major (CHW), row-major within a plane:
// one item of an NCHW batch. Images read from files hold values in [0, 1].
type Planes struct {
	C, H, W int
	Pix     []float32
}

// NewPlanes returns zeroed planes of the given size.
func NewPlanes(c, h, w int) Planes {
	return Planes{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
}

// At returns the value of channel c at row y, column x.
func (p Planes) At(c, y, x int) float32 { return p.Pix[(c*p.H+y)*p.W+x] }

// Shape is the NCHW shape of p as a batch of one: (1, C, H, W).
func (p Planes) Shape() tensor.Shape { return tensor.Shape{1, p.C, p.H, p.W} }

// check reports an error unless p's dimensions are positive and match its pixels.
func (p Planes) check() error {
	if p.C <= 0 || p.H <= 0 || p.W <= 0 || len(p.Pix) != p.C*p.H*p.W {
		return fmt.Errorf("planes %d×%d×%d with %d values are malformed", p.C, p.H, p.W, len(p.Pix))
	}
	return nil
}

// Tensor returns p as a (1, C, H, W) float32 tensor holding a copy of its values.
func (p Planes) Tensor() *tensor.Dense {
	return tensor.New(tensor.WithShape(1, p.C, p.H, p.W), tensor.WithBacking(slices.Clone(p.Pix)))
}

// FromTensor converts a (1, C, H, W) float32 tensor to planes (copying its values).
func FromTensor(d *tensor.Dense) (Planes, error) {
	s := d.Shape()
	if len(s) != 4 || s[0] != 1 {
		return Planes{}, fmt.Errorf("tensor of shape %v is not one NCHW image (want (1, C, H, W))", s)
	}
	if d.Dtype() != tensor.Float32 {
		return Planes{}, fmt.Errorf("tensor of dtype %v, want float32", d.Dtype())
	}
	return Planes{C: s[1], H: s[2], W: s[3], Pix: slices.Clone(d.Float32s())}, nil
}

// Luma weights of ITU-R BT.601, the ones tf.image.rgb_to_grayscale uses.
const (
	lumaR = 0.2989
	lumaG = 0.5870
	lumaB = 0.1140
)

// RGB converts img to three planes (red, green, blue) with values in [0, 1]. Transparent pixels are
// composed over black.
func RGB(img image.Image) Planes {
	b := img.Bounds()
	p := NewPlanes(3, b.Dy(), b.Dx())
	n := p.H * p.W
	for y := range p.H {
		for x := range p.W {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*p.W + x
			p.Pix[i] = float32(r) / 0xffff
			p.Pix[n+i] = float32(g) / 0xffff
			p.Pix[2*n+i] = float32(bl) / 0xffff
		}
	}
	return p
}

// Grayscale converts img to one plane of luma in [0, 1] (0.2989 R + 0.5870 G + 0.1140 B, as
// tf.image.rgb_to_grayscale). Transparent pixels are composed over black.
func Grayscale(img image.Image) Planes {
	b := img.Bounds()
	p := NewPlanes(1, b.Dy(), b.Dx())
	for y := range p.H {
		for x := range p.W {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			v := (lumaR*float64(r) + lumaG*float64(g) + lumaB*float64(bl)) / 0xffff
			p.Pix[y*p.W+x] = float32(min(v, 1))
		}
	}
	return p
}

// Resize resamples every plane of p to h×w pixels by bilinear interpolation with half-pixel centres
// (TensorFlow 2's tf.image.resize with method bilinear and no antialiasing): output pixel (y, x) samples
// the input at ((y+0.5)·H/h − 0.5, (x+0.5)·W/w − 0.5), clamped to the image.
func Resize(p Planes, h, w int) (Planes, error) {
	if err := p.check(); err != nil {
		return Planes{}, fmt.Errorf("resize: %w", err)
	}
	if h <= 0 || w <= 0 {
		return Planes{}, fmt.Errorf("resize to %d×%d: size must be positive", h, w)
	}
	ys, xs := taps(p.H, h), taps(p.W, w)
	out := NewPlanes(p.C, h, w)
	for c := range p.C {
		in, o := p.Pix[c*p.H*p.W:(c+1)*p.H*p.W], out.Pix[c*h*w:(c+1)*h*w]
		for y, ty := range ys {
			r0, r1 := in[ty.i0*p.W:(ty.i0+1)*p.W], in[ty.i1*p.W:(ty.i1+1)*p.W]
			for x, tx := range xs {
				top := r0[tx.i0]*(1-tx.f) + r0[tx.i1]*tx.f
				bottom := r1[tx.i0]*(1-tx.f) + r1[tx.i1]*tx.f
				o[y*w+x] = top*(1-ty.f) + bottom*ty.f
			}
		}
	}
	return out, nil
}

// tap is where one output coordinate samples the input: between pixels i0 and i1, at fraction f.
type tap struct {
	i0, i1 int
	f      float32
}

// taps returns the sample positions of out output pixels along an input axis of in pixels.
func taps(in, out int) []tap {
	t := make([]tap, out)
	scale := float64(in) / float64(out)
	for i := range t {
		s := min(max((float64(i)+0.5)*scale-0.5, 0), float64(in-1))
		i0 := int(math.Floor(s))
		t[i] = tap{i0: i0, i1: min(i0+1, in-1), f: float32(s - float64(i0))}
	}
	return t
}

// ResizeShorter resizes p so that its shorter side has size pixels, keeping the aspect ratio (the
// longer side is rounded to the nearest pixel).
func ResizeShorter(p Planes, size int) (Planes, error) {
	if size <= 0 {
		return Planes{}, fmt.Errorf("resize: shorter side %d must be positive", size)
	}
	short := min(p.H, p.W)
	if short <= 0 {
		return Planes{}, fmt.Errorf("resize: image of %d×%d pixels is empty", p.W, p.H)
	}
	scale := float64(size) / float64(short)
	h := max(int(math.Round(float64(p.H)*scale)), 1)
	w := max(int(math.Round(float64(p.W)*scale)), 1)
	return Resize(p, h, w)
}

// Scaling says how planes map to 8-bit display values.
type Scaling int

const (
	// Clip shows [0, 1] as 0–255 and clips values outside.
	Clip Scaling = iota
	// MinMax maps the smallest value of the planes to 0 and the largest to 255 (linearly, over all
	// channels together); a constant image is shown black.
	MinMax
)

// Range returns the smallest and largest value of p.
func (p Planes) Range() (lo, hi float32) {
	if len(p.Pix) == 0 {
		return 0, 0
	}
	lo, hi = p.Pix[0], p.Pix[0]
	for _, v := range p.Pix[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi
}

// Image converts p to an 8-bit image: one plane gives a gray image, three planes an RGB image.
func (p Planes) Image(s Scaling) (image.Image, error) {
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("to image: %w", err)
	}
	var offset, scale float32 = 0, 1
	if s == MinMax {
		lo, hi := p.Range()
		offset = lo
		if hi > lo {
			scale = 1 / (hi - lo)
		} else {
			scale = 0
		}
	}
	level := func(v float32) uint8 {
		x := (v - offset) * scale * 255
		if x != x { // NaN
			return 0
		}
		return uint8(min(max(x+0.5, 0), 255))
	}
	n := p.H * p.W
	switch p.C {
	case 1:
		img := image.NewGray(image.Rect(0, 0, p.W, p.H))
		for i, v := range p.Pix {
			img.Pix[i] = level(v)
		}
		return img, nil
	case 3:
		img := image.NewRGBA(image.Rect(0, 0, p.W, p.H))
		for i := range n {
			img.Set(i%p.W, i/p.W, color.RGBA{level(p.Pix[i]), level(p.Pix[n+i]), level(p.Pix[2*n+i]), 0xff})
		}
		return img, nil
	}
	return nil, fmt.Errorf("to image: %d channels (want 1 or 3)", p.C)
}
