package graph

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Window is a pooling window: its size, its strides and its padding.
type Window struct {
	KH, KW, StrideH, StrideW int
	Pad                      Padding
}

func (w Window) String() string {
	return fmt.Sprintf("k=%dx%d s=%dx%d pad=%v", w.KH, w.KW, w.StrideH, w.StrideW, w.Pad)
}

// geometry describes pooling an NCHW input x through the window (as a convolution with O = C).
func (w Window) geometry(name string, x tensor.Shape) (convGeometry, error) {
	if len(x) != 4 {
		return convGeometry{}, fmt.Errorf("%s: %w: input %v must be NCHW", name, ErrShape, x)
	}
	if w.Pad.Top >= w.KH || w.Pad.Bottom >= w.KH || w.Pad.Left >= w.KW || w.Pad.Right >= w.KW {
		return convGeometry{}, fmt.Errorf("%s: %w: padding %+v must be smaller than the window %dx%d", name, ErrShape, w.Pad, w.KH, w.KW)
	}
	g, err := newConvGeometry(x[0], x[1], x[2], x[3], x[1], w.KH, w.KW, w.StrideH, w.StrideW, w.Pad)
	if err != nil {
		return g, fmt.Errorf("%s: %w", name, err)
	}
	return g, nil
}

// window returns the input rows [y0, y1) and columns [x0, x1) that output (oy, ox) pools, clipped to the image.
func (g convGeometry) window(oy, ox int) (y0, y1, x0, x1 int) {
	y0, x0 = oy*g.sh-g.pt, ox*g.sw-g.pl
	y1, x1 = min(y0+g.kh, g.h), min(x0+g.kw, g.w)
	return max(y0, 0), y1, max(x0, 0), x1
}

// is2x2 reports whether the window is Keras' default MaxPooling2D(2): 2×2, stride 2, every window inside
// the image (no padding before, none needed after).
func (g convGeometry) is2x2() bool {
	return g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && g.pt == 0 && g.pl == 0 && 2*g.oh <= g.h && 2*g.ow <= g.w
}

// maxPool takes the maximum over each window; padding never wins (as TensorFlow's -inf padding).
func maxPool[T Float](e *Exec, g convGeometry, x, y []T) {
	if g.is2x2() {
		maxPool2x2(e, g, x, y)
		return
	}
	job := jobOf[maxPoolJob[T]](e)
	job.g, job.x, job.y = g, x, y
	e.parallel(g.n*g.c, job)
}

type maxPoolJob[T Float] struct {
	g convGeometry
	x []T
	y []T
}

func (job *maxPoolJob[T]) Run(lo, hi int) {
	g, x, y := job.g, job.x, job.y
	for p := lo; p < hi; p++ {
		in, out := x[p*g.h*g.w:(p+1)*g.h*g.w], y[p*g.oh*g.ow:(p+1)*g.oh*g.ow]
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				y0, y1, x0, x1 := g.window(oy, ox)
				best := in[y0*g.w+x0]
				for iy := y0; iy < y1; iy++ {
					for _, v := range in[iy*g.w+x0 : iy*g.w+x1] {
						best = max(best, v) // branch-free: comparisons of data mispredict
					}
				}
				out[oy*g.ow+ox] = best
			}
		}
	}
}

// maxPool2x2 is maxPool for 2×2 windows with stride 2 and no padding.
func maxPool2x2[T Float](e *Exec, g convGeometry, x, y []T) {
	job := jobOf[maxPool2x2Job[T]](e)
	job.g, job.x, job.y = g, x, y
	e.parallel(g.n*g.c, job)
}

type maxPool2x2Job[T Float] struct {
	g convGeometry
	x []T
	y []T
}

func (job *maxPool2x2Job[T]) Run(lo, hi int) {
	g, x, y := job.g, job.x, job.y
	for p := lo; p < hi; p++ {
		in, out := x[p*g.h*g.w:(p+1)*g.h*g.w], y[p*g.oh*g.ow:(p+1)*g.oh*g.ow]
		for oy := 0; oy < g.oh; oy++ {
			r0, r1 := in[2*oy*g.w:], in[(2*oy+1)*g.w:]
			row := out[oy*g.ow : (oy+1)*g.ow]
			for ox := range row {
				row[ox] = max(r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1])
			}
		}
	}
}

// maxPoolGrad routes each output gradient to the first element (row-major) of its window that equals
// the window's maximum y, the element maxPool picked. Scanning for the known maximum stops at the first
// match, so it mispredicts one branch per window instead of one per running-maximum update.
//
// With positive set it computes ReLUGrad(x, MaxPool2DGrad(x, y, dy)) for a pooled ReLU output x: a
// window's maximum y is where its gradient goes, and x there is y, so the gradient passes where y > 0.
func maxPoolGrad[T Float](e *Exec, g convGeometry, x, y, dy, dx []T, positive bool) {
	if g.is2x2() {
		maxPoolGrad2x2(e, g, x, y, dy, dx, positive)
		return
	}
	job := jobOf[maxPoolGradJob[T]](e)
	job.g, job.x, job.y, job.dy, job.dx, job.positive = g, x, y, dy, dx, positive
	e.parallel(g.n*g.c, job)
}

type maxPoolGradJob[T Float] struct {
	g        convGeometry
	x        []T
	y        []T
	dy       []T
	dx       []T
	positive bool
}

func (job *maxPoolGradJob[T]) Run(lo, hi int) {
	g, x, y, dy, dx := job.g, job.x, job.y, job.dy, job.dx
	for p := lo; p < hi; p++ {
		in, d := x[p*g.h*g.w:(p+1)*g.h*g.w], dx[p*g.h*g.w:(p+1)*g.h*g.w]
		grad, out := dy[p*g.oh*g.ow:(p+1)*g.oh*g.ow], y[p*g.oh*g.ow:(p+1)*g.oh*g.ow]
		clear(d)
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				y0, y1, x0, x1 := g.window(oy, ox)
				m := out[oy*g.ow+ox]
				if job.positive && !(m > 0) {
					continue
				}
				at := firstEqual(in, g.w, y0, y1, x0, x1, m)
				d[at] += grad[oy*g.ow+ox]
			}
		}
	}
}

// firstEqual returns the index of the first element of the window rows [y0, y1) × columns [x0, x1) of
// a plane of width w that equals m, or the window's first element if none does (m is NaN).
func firstEqual[T Float](in []T, w, y0, y1, x0, x1 int, m T) int {
	for iy := y0; iy < y1; iy++ {
		row := in[iy*w+x0 : iy*w+x1]
		for i, v := range row {
			if v == m {
				return iy*w + x0 + i
			}
		}
	}
	return y0*w + x0
}

// avgPool averages each window over the pixels inside the image (padding is not counted, as in
// TensorFlow).
func avgPool[T Float](e *Exec, g convGeometry, x, y []T) {
	job := jobOf[avgPoolJob[T]](e)
	job.g, job.x, job.y = g, x, y
	e.parallel(g.n*g.c, job)
}

type avgPoolJob[T Float] struct {
	g convGeometry
	x []T
	y []T
}

func (job *avgPoolJob[T]) Run(lo, hi int) {
	g, x, y := job.g, job.x, job.y
	for p := lo; p < hi; p++ {
		in, out := x[p*g.h*g.w:(p+1)*g.h*g.w], y[p*g.oh*g.ow:(p+1)*g.oh*g.ow]
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				y0, y1, x0, x1 := g.window(oy, ox)
				var s T
				for iy := y0; iy < y1; iy++ {
					for _, v := range in[iy*g.w+x0 : iy*g.w+x1] {
						s += v
					}
				}
				out[oy*g.ow+ox] = s / T((y1-y0)*(x1-x0))
			}
		}
	}
}

// avgPoolGrad spreads each output gradient evenly over the pixels its window averaged.
func avgPoolGrad[T Float](e *Exec, g convGeometry, dy, dx []T) {
	job := jobOf[avgPoolGradJob[T]](e)
	job.g, job.dy, job.dx = g, dy, dx
	e.parallel(g.n*g.c, job)
}

type avgPoolGradJob[T Float] struct {
	g  convGeometry
	dy []T
	dx []T
}

func (job *avgPoolGradJob[T]) Run(lo, hi int) {
	g, dy, dx := job.g, job.dy, job.dx
	for p := lo; p < hi; p++ {
		d := dx[p*g.h*g.w : (p+1)*g.h*g.w]
		grad := dy[p*g.oh*g.ow : (p+1)*g.oh*g.ow]
		clear(d)
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				y0, y1, x0, x1 := g.window(oy, ox)
				share := grad[oy*g.ow+ox] / T((y1-y0)*(x1-x0))
				for iy := y0; iy < y1; iy++ {
					row := d[iy*g.w+x0 : iy*g.w+x1]
					for i := range row {
						row[i] += share
					}
				}
			}
		}
	}
}

// maxPoolGrad2x2 is maxPoolGrad for 2×2 windows with stride 2 and no padding.
func maxPoolGrad2x2[T Float](e *Exec, g convGeometry, x, y, dy, dx []T, positive bool) {
	job := jobOf[maxPoolGrad2x2Job[T]](e)
	job.g, job.x, job.y, job.dy, job.dx, job.positive = g, x, y, dy, dx, positive
	e.parallel(g.n*g.c, job)
}

type maxPoolGrad2x2Job[T Float] struct {
	g        convGeometry
	x        []T
	y        []T
	dy       []T
	dx       []T
	positive bool
}

func (job *maxPoolGrad2x2Job[T]) Run(lo, hi int) {
	g, x, y, dy, dx := job.g, job.x, job.y, job.dy, job.dx
	for p := lo; p < hi; p++ {
		in, d := x[p*g.h*g.w:(p+1)*g.h*g.w], dx[p*g.h*g.w:(p+1)*g.h*g.w]
		grad, out := dy[p*g.oh*g.ow:(p+1)*g.oh*g.ow], y[p*g.oh*g.ow:(p+1)*g.oh*g.ow]
		clear(d)
		for oy := 0; oy < g.oh; oy++ {
			for ox := 0; ox < g.ow; ox++ {
				m := out[oy*g.ow+ox]
				if job.positive && !(m > 0) {
					continue
				}
				at := firstEqual(in, g.w, 2*oy, 2*oy+2, 2*ox, 2*ox+2, m)
				d[at] = grad[oy*g.ow+ox]
			}
		}
	}
}
