package data

import (
	"fmt"
	"math"
)

// Crop is the part of a photo that becomes a network input: the rectangle of H rows and W columns whose
// top-left pixel is (Y, X), mirrored left–right when Flip.
type Crop struct {
	Y, X, H, W int
	Flip       bool
}

// inside reports whether c is a non-empty rectangle inside an h×w photo.
func (c Crop) inside(h, w int) bool {
	return c.H > 0 && c.W > 0 && c.Y >= 0 && c.X >= 0 && c.Y <= h-c.H && c.X <= w-c.W
}

// CenterSquareCrop is the largest centred square of an h×w photo: side s = min(h, w) at offset
// ((h−s)/2, (w−s)/2), rounded down. It is the evaluation crop of ImageBatcher by default.
func CenterSquareCrop(h, w int) Crop {
	s := min(h, w)
	return Crop{Y: (h - s) / 2, X: (w - s) / 2, H: s, W: s}
}

// BookCentralCrop is central_crop of Géron's chapter-14 notebook, kept for exact reproduction: with
// m = min(h, w) it removes (h−m)/4 rows at the top and at the bottom and (w−m)/4 columns at the left and
// at the right (integer division), so it keeps half of the longer side's excess and is not square (a
// 240×320 photo gives 240×280, which the resize to 224×224 then squeezes).
func BookCentralCrop(h, w int) Crop {
	m := min(h, w)
	top, left := (h-m)/4, (w-m)/4
	return Crop{Y: top, X: left, H: h - 2*top, W: w - 2*left}
}

// RandomCropSide is the side of the training crop of an h×w photo: 90% of the shorter side rounded down
// (min(h, w)·90/100 in integers, as the book's random_crop computes it), at least 1.
func RandomCropSide(h, w int) int { return max(1, min(h, w)*90/100) }

// RandomCrop is the book's training crop drawn from the 64-bit random word r: a square of side
// s = RandomCropSide(h, w) whose offset is uniform over [0, h−s]×[0, w−s] (tf.image.random_crop), mirrored
// left–right with probability 1/2 (tf.image.random_flip_left_right).
func RandomCrop(h, w int, r uint64) Crop {
	s := RandomCropSide(h, w)
	return Crop{Y: uniform(r, h-s+1), X: uniform(r>>32, w-s+1), H: s, W: s, Flip: splitmix64(r)&1 == 1}
}

// maxResizeSide bounds the output side of a resize.
const maxResizeSide = 1 << 13

// ResizeBilinear returns crop c of p resized to outH×outW as TensorFlow 2's
// tf.image.resize(image, [outH, outW]) computes it (method bilinear, antialias=False, which runs the
// ResizeBilinear kernel with half_pixel_centers=True): output pixel (y, x) samples the crop at
//
//	sy = (y + 0.5)·(c.H/outH) − 0.5,  sx = (x + 0.5)·(c.W/outW) − 0.5
//
// from the rows ⌊sy⌋ and ⌈sy⌉ and the columns ⌊sx⌋ and ⌈sx⌉ clamped to the crop, with weights
// sy−⌊sy⌋ and sx−⌊sx⌋: top = tl + (tr−tl)·fx, bottom = bl + (br−bl)·fx, value = top + (bottom−top)·fy,
// all in unfused float32 like TensorFlow's reference kernel. A mirrored crop is flipped before resizing.
// The result is outH×outW×3 float32 values in [0, 255] (HWC, RGB), not rounded.
func ResizeBilinear(p Photo, c Crop, outH, outW int) ([]float32, error) {
	if p.H <= 0 || p.W <= 0 || len(p.Pix) != p.H*p.W*3 {
		return nil, fmt.Errorf("data: resize: photo is %d×%d with %d bytes, expected H·W·3: %w", p.H, p.W, len(p.Pix), ErrArgument)
	}
	if !c.inside(p.H, p.W) {
		return nil, fmt.Errorf("data: resize: crop %+v is not inside the %d×%d photo: %w", c, p.H, p.W, ErrArgument)
	}
	if outH <= 0 || outW <= 0 || outH > maxResizeSide || outW > maxResizeSide {
		return nil, fmt.Errorf("data: resize: output %d×%d must have sides in [1, %d]: %w", outH, outW, maxResizeSide, ErrArgument)
	}
	return resizeHWC(p, c, outH, outW), nil
}

// resizeHWC is ResizeBilinear on checked arguments.
func resizeHWC(p Photo, c Crop, outH, outW int) []float32 {
	var r resampler
	r.prepare(p, c, outH, outW)
	dst := make([]float32, outH*outW*3)
	r.hwc(dst, p)
	return dst
}

// axis holds, for each output coordinate along one axis, the byte offsets in the photo of the two
// source samples and the weight of the second.
type axis struct {
	lo, hi []int
	frac   []float32
}

// set fills a for out samples over the in source pixels starting at start (pixel units), the source
// order reversed when flip; offsets are multiplied by stride (bytes per pixel along the axis).
func (a *axis) set(start, in, out int, flip bool, stride int) {
	if cap(a.lo) < out {
		a.lo, a.hi, a.frac = make([]int, out), make([]int, out), make([]float32, out)
	}
	a.lo, a.hi, a.frac = a.lo[:out], a.hi[:out], a.frac[:out]
	scale := float32(in) / float32(out)
	for i := range out {
		s := float32((float32(i)+0.5)*scale) - 0.5
		f := float32(math.Floor(float64(s)))
		lo := min(max(int(f), 0), in-1)
		hi := min(max(int(math.Ceil(float64(s))), 0), in-1)
		if flip {
			lo, hi = in-1-lo, in-1-hi
		}
		a.lo[i], a.hi[i], a.frac[i] = (start+lo)*stride, (start+hi)*stride, s-f
	}
}

// lerp is TensorFlow's compute_lerp, a + (b − a)·f, rounded to float32 after the product (never fused).
func lerp(a, b, f float32) float32 { return a + float32((b-a)*f) }

// resampler resizes one crop; its buffers are reused from crop to crop. Resizing is separable: a
// source row interpolated along x (TensorFlow's "top" and "bottom" values) is computed once and kept for
// the next output row, which often reads the same source row, then pairs of such rows are interpolated
// along y. The arithmetic per output value is exactly compute_lerp's.
type resampler struct {
	xs, ys   axis
	outH, oW int
	rows     [2][]float32 // source rows interpolated along x: oW×3 values each
	keys     [2]int       // byte offset in the photo of the row each holds; −1: none
}

// prepare sets up the resize of crop c (inside p) to outH×outW.
func (r *resampler) prepare(p Photo, c Crop, outH, outW int) {
	r.outH, r.oW = outH, outW
	r.xs.set(c.X, c.W, outW, c.Flip, 3)
	r.ys.set(c.Y, c.H, outH, false, p.W*3)
	for k := range r.rows {
		if cap(r.rows[k]) < 3*outW {
			r.rows[k] = make([]float32, 3*outW)
		}
		r.rows[k], r.keys[k] = r.rows[k][:3*outW], -1
	}
}

// row returns the photo row at byte offset off interpolated along x, computing it unless cached, and
// never evicting the row at offset keep.
func (r *resampler) row(p Photo, off, keep int) []float32 {
	if r.keys[0] == off {
		return r.rows[0]
	}
	if r.keys[1] == off {
		return r.rows[1]
	}
	k := 0
	if r.keys[0] == keep {
		k = 1
	}
	r.keys[k] = off
	d := r.rows[k]
	src := p.Pix[off:]
	xlo, xhi, xf := r.xs.lo[:r.oW], r.xs.hi[:r.oW], r.xs.frac[:r.oW]
	for ox := range xlo {
		l, h, fx := xlo[ox], xhi[ox], xf[ox]
		q := d[3*ox : 3*ox+3]
		q[0] = lerp(float32(src[l]), float32(src[h]), fx)
		q[1] = lerp(float32(src[l+1]), float32(src[h+1]), fx)
		q[2] = lerp(float32(src[l+2]), float32(src[h+2]), fx)
	}
	return d
}

// hwc writes the resized crop as outH×outW×3 raw values.
func (r *resampler) hwc(dst []float32, p Photo) {
	n := 3 * r.oW
	for oy := range r.outH {
		lo, hi, fy := r.ys.lo[oy], r.ys.hi[oy], r.ys.frac[oy]
		top := r.row(p, lo, -1)
		bot := r.row(p, hi, lo)[:len(top)]
		d := dst[oy*n : (oy+1)*n][:len(top)]
		for i, t := range top {
			d[i] = lerp(t, bot[i], fy)
		}
	}
}

// planeNorm says where and how each source channel (R, G, B) is written by nchw: into plane off[s]
// (an offset in values) as (v − mean[s])·scale[s].
type planeNorm struct {
	off         [3]int
	mean, scale [3]float32
}

// newPlaneNorm turns a ChannelNorm (already validated for 3 channels, or zero: raw values) into the
// per-source-channel form for outH×outW planes.
func newPlaneNorm(n ChannelNorm, hw int) planeNorm {
	var pn planeNorm
	for oc := range 3 {
		s := n.Source(oc)
		pn.off[s] = oc * hw
		pn.mean[s], pn.scale[s] = 0, 1
		if n.Mean != nil {
			pn.mean[s], pn.scale[s] = n.Mean[oc], n.Scale[oc]
		}
	}
	return pn
}

// nchw writes the resized crop as three outH×outW planes, normalised.
func (r *resampler) nchw(dst []float32, p Photo, pn *planeNorm) {
	w := r.oW
	m0, m1, m2 := pn.mean[0], pn.mean[1], pn.mean[2]
	k0, k1, k2 := pn.scale[0], pn.scale[1], pn.scale[2]
	for oy := range r.outH {
		lo, hi, fy := r.ys.lo[oy], r.ys.hi[oy], r.ys.frac[oy]
		top := r.row(p, lo, -1)[:3*w]
		bot := r.row(p, hi, lo)[:3*w]
		row := oy * w
		d0 := dst[pn.off[0]+row : pn.off[0]+row+w]
		d1 := dst[pn.off[1]+row : pn.off[1]+row+w]
		d2 := dst[pn.off[2]+row : pn.off[2]+row+w]
		for ox := range d0 {
			t, b := top[3*ox:3*ox+3], bot[3*ox:3*ox+3]
			d0[ox] = (lerp(t[0], b[0], fy) - m0) * k0
			d1[ox] = (lerp(t[1], b[1], fy) - m1) * k1
			d2[ox] = (lerp(t[2], b[2], fy) - m2) * k2
		}
	}
}
