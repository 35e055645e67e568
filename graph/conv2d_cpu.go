package graph

import (
	"fmt"
	"math"
)

// convGeometry describes one convolution: input (n, c, h, w), kernel (o, c, kh, kw), output (n, o, oh, ow).
//
// A kernel tap (i, j) is live when it reads an image pixel for at least one output position; a tap that
// only ever meets padding contributes nothing, so im2col leaves it out (K = C·live taps instead of
// C·KH·KW) and the weights are restricted to the live taps. It matters for small feature maps: a 3×3
// SAME convolution of a 1×1 map (ResNet-34's last stage on 28×28 inputs) has one live tap out of nine.
type convGeometry struct {
	n, c, h, w     int
	o, kh, kw      int
	oh, ow         int
	sh, sw, pt, pl int
	nLive          int
	taps           [maxTaps]uint8 // live taps as i·KW+j, when nLive < KH·KW
}

// maxTaps bounds the kernels whose dead taps are skipped; larger kernels use every tap.
const maxTaps = 64

func newConvGeometry(n, c, h, w, o, kh, kw, sh, sw int, pad Padding) (convGeometry, error) {
	if n <= 0 || c <= 0 || h <= 0 || w <= 0 || o <= 0 || kh <= 0 || kw <= 0 {
		return convGeometry{}, fmt.Errorf("conv: %w: input (%d,%d,%d,%d), kernel (%d,%d,%d,%d) must be positive", ErrShape, n, c, h, w, o, c, kh, kw)
	}
	if sh <= 0 || sw <= 0 || pad.Top < 0 || pad.Bottom < 0 || pad.Left < 0 || pad.Right < 0 {
		return convGeometry{}, fmt.Errorf("conv: %w: strides %dx%d and padding %+v must be positive", ErrShape, sh, sw, pad)
	}
	oh := windowOut(h, pad.Top+pad.Bottom, kh, sh)
	ow := windowOut(w, pad.Left+pad.Right, kw, sw)
	if oh <= 0 || ow <= 0 {
		return convGeometry{}, fmt.Errorf("conv: %w: kernel %dx%d does not fit input %dx%d with padding %+v", ErrShape, kh, kw, h, w, pad)
	}
	g := convGeometry{n: n, c: c, h: h, w: w, o: o, kh: kh, kw: kw, oh: oh, ow: ow, sh: sh, sw: sw, pt: pad.Top, pl: pad.Left, nLive: kh * kw}
	if hp, wp := g.paddedSize(); float64(c)*float64(hp)*float64(wp) > math.MaxInt32 {
		return convGeometry{}, fmt.Errorf("conv: %w: one padded image (%d channels, %dx%d) exceeds 2³¹ elements", ErrShape, c, hp, wp)
	}
	if kh*kw <= maxTaps {
		live := 0
		for i := 0; i < kh; i++ {
			for j := 0; j < kw; j++ {
				if g.reads(i, j) {
					g.taps[live] = uint8(i*kw + j)
					live++
				}
			}
		}
		g.nLive = live
	}
	return g, nil
}

// reads reports whether tap (i, j) reads an image pixel for some output position.
func (g convGeometry) reads(i, j int) bool {
	row, col := false, false
	for oy := 0; oy < g.oh && !row; oy++ {
		iy := oy*g.sh - g.pt + i
		row = iy >= 0 && iy < g.h
	}
	for ox := 0; ox < g.ow && !col; ox++ {
		ix := ox*g.sw - g.pl + j
		col = ix >= 0 && ix < g.w
	}
	return row && col
}

// allLive reports whether every tap is live.
func (g convGeometry) allLive() bool { return g.nLive == g.kh*g.kw }

// tap returns the kernel position of live tap t.
func (g convGeometry) tap(t int) (i, j int) {
	if g.allLive() {
		return t / g.kw, t % g.kw
	}
	k := int(g.taps[t])
	return k / g.kw, k % g.kw
}

// k is the inner dimension of the convolution's matrix product: C times the live taps.
func (g convGeometry) k() int { return g.c * g.nLive }

// liveWeights returns the kernel restricted to the live taps, O × (C·live taps): w itself when every tap
// is live, else a copy in scratch slot 3.
func liveWeights[T Float](e *Exec, g convGeometry, w []T) []T {
	if g.allLive() {
		return w
	}
	k, full := g.k(), g.kh*g.kw
	live := scratch[T](e, 3, g.o*k)
	for o := 0; o < g.o; o++ {
		for c := 0; c < g.c; c++ {
			src := w[(o*g.c+c)*full:]
			dst := live[o*k+c*g.nLive:]
			for t := 0; t < g.nLive; t++ {
				dst[t] = src[g.taps[t]]
			}
		}
	}
	return live
}

// spreadWeights writes a gradient over the live taps into the full kernel gradient, zero at dead taps.
func spreadWeights[T Float](g convGeometry, live, dw []T) {
	k, full := g.k(), g.kh*g.kw
	clear(dw)
	for o := 0; o < g.o; o++ {
		for c := 0; c < g.c; c++ {
			src := live[o*k+c*g.nLive:]
			dst := dw[(o*g.c+c)*full:]
			for t := 0; t < g.nLive; t++ {
				dst[g.taps[t]] = src[t]
			}
		}
	}
}

// colBudget bounds, in elements, the buffers a convolution works through a chunk of images at a time:
// its output before scattering, the gathered output gradient, and (without an implicit GEMM) the
// im2col matrix.
const colBudget = 8 << 20

// imagesPerChunk is how many images fit the budget at once (at least one) when each needs per elements:
// its output (O·OH·OW) or its columns (C·taps·OH·OW).
func (g convGeometry) imagesPerChunk(per int) int {
	return max(1, min(g.n, colBudget/max(per, 1)))
}

// colSource is the im2col matrix of images [n0, n0+nb) of x, (C·live taps) × (nb·OH·OW), served to the
// GEMM block by block and never stored whole (an implicit GEMM): row c·live+t holds, for every output
// position, the input pixel under live kernel tap t of channel c, zero where the tap meets padding.
//
// It reads a zero-padded copy of the input, so an element is one load at tapOffset[row] +
// posOffset[position] within its image: no bounds logic per pixel, and whole images per run.
type colSource[T Float] struct {
	xp        []T // the images, padded, imgStride elements each
	imgStride int
	ohw       int
	tapOffset []int32 // per row: c·H′W′ + i·W′ + j
	posOffset []int32 // per output position: oy·SH·W′ + ox·SW
	// colOffset is posOffset for every column, image·imgStride + posOffset[position], when across is
	// set: small maps (no row copies) whose images all lie within int32 offsets of the first are
	// gathered across images in one call.
	colOffset []int32
	across    bool
	// With unit column stride and rows of at least minRowCopy pixels, an output row reads one
	// contiguous run of the padded image: ow pixels, rowStride apart from one output row to the next.
	rowCopy       bool
	ow, rowStride int
}

// minRowCopy is the narrowest output row colSource copies as a run rather than gathers.
const minRowCopy = 8

// paddedSize returns the padded image's height and width: the input with PT/PL rows and columns of
// zeros before it and enough after it for every tap of every output position.
func (g convGeometry) paddedSize() (hp, wp int) {
	return max(g.h+g.pt, (g.oh-1)*g.sh+g.kh), max(g.w+g.pl, (g.ow-1)*g.sw+g.kw)
}

// columnsOf returns the im2col matrix of images [n0, n0+nb) of x as a GEMM source. The padded images are
// memoised for the run, so the forward pass and the kernel gradient pad them once; the source itself is
// kept in the Exec, so this allocates nothing.
func columnsOf[T Float](e *Exec, g convGeometry, x []T, n0, nb int) *colSource[T] {
	hp, wp := g.paddedSize()
	src := jobOf[colSource[T]](e)
	src.xp = paddedInput(e, g, x, n0, nb, hp, wp)
	src.imgStride, src.ohw = g.c*hp*wp, g.oh*g.ow
	src.rowCopy, src.ow, src.rowStride = g.sw == 1 && g.ow >= minRowCopy, g.ow, g.sh*wp
	src.tapOffset = growInt32(src.tapOffset, g.k())
	for r := range src.tapOffset {
		i, j := g.tap(r % g.nLive)
		src.tapOffset[r] = int32((r/g.nLive)*hp*wp + i*wp + j)
	}
	src.posOffset = growInt32(src.posOffset, g.oh*g.ow)
	for oy := 0; oy < g.oh; oy++ {
		for ox := 0; ox < g.ow; ox++ {
			src.posOffset[oy*g.ow+ox] = int32(oy*g.sh*wp + ox*g.sw)
		}
	}
	src.across = !src.rowCopy && nb*src.imgStride <= math.MaxInt32
	if src.across {
		src.colOffset = growInt32(src.colOffset, nb*src.ohw)
		for b := 0; b < nb; b++ {
			for p, o := range src.posOffset {
				src.colOffset[b*src.ohw+p] = int32(b*src.imgStride) + o
			}
		}
	}
	return src
}

// segment writes output positions [pos, pos+len(dst)) of one image and one row of the matrix, whose
// pixels lie at img[posOffset[·]]: whole output rows as contiguous runs where rows are copied, the rest
// by gathering.
func (s *colSource[T]) segment(dst, img []T, pos int) {
	if !s.rowCopy || len(dst) < 2*s.ow {
		gather(dst, img, s.posOffset[pos:pos+len(dst)])
		return
	}
	if ox := pos % s.ow; ox != 0 { // the rest of a started output row
		h := s.ow - ox
		gather(dst[:h], img, s.posOffset[pos:pos+h])
		dst, pos = dst[h:], pos+h
	}
	rows := len(dst) / s.ow
	copyRows(dst[:rows*s.ow], img[s.posOffset[pos]:], rows, s.ow, s.rowStride, s.ow)
	dst, pos = dst[rows*s.ow:], pos+rows*s.ow
	gather(dst, img, s.posOffset[pos:pos+len(dst)])
}

// copyRows copies rows runs of width elements, srcStride apart in src, to dst rows dstStride apart.
func copyRows[T Float](dst, src []T, rows, width, srcStride, dstStride int) {
	if is32[T]() {
		copyRowsFloat32(cast[float32](dst), cast[float32](src), rows, width, srcStride, dstStride)
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:])
	}
}

// gather sets dst[q] = src[idx[q]], with AVX-512 gathers in float32 where the CPU has them.
func gather[T Float](dst, src []T, idx []int32) {
	if is32[T]() {
		gatherFloat32(cast[float32](dst), cast[float32](src), idx)
		return
	}
	idx = idx[:len(dst)]
	for q := range dst {
		dst[q] = src[idx[q]]
	}
}

func growInt32(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// Rows writes rows [r0, r0+rows) × columns [c0, c0+cols) of the matrix into dst, row stride cols.
func (s *colSource[T]) Rows(dst []T, r0, rows, c0, cols int) {
	for r := 0; r < rows; r++ {
		tap := int(s.tapOffset[r0+r])
		out := dst[r*cols : (r+1)*cols]
		if s.across { // one gather across images: small maps make short runs
			gather(out, s.xp[tap:], s.colOffset[c0:c0+cols])
			continue
		}
		b, pos := c0/s.ohw, c0%s.ohw
		for w := 0; w < cols; {
			run := min(s.ohw-pos, cols-w)
			// Every offset is below imgStride, so the image slice bounds them all.
			img := s.xp[b*s.imgStride+tap : (b+1)*s.imgStride]
			s.segment(out[w:w+run], img, pos)
			w += run
			pos = 0
			b++
		}
	}
}

// paddedInput returns images [n0, n0+nb) of x with each H×W plane copied into an HP×WP plane at (PT,
// PL), zeros around it, from the run's memo when another kernel already padded them the same way.
func paddedInput[T Float](e *Exec, g convGeometry, x []T, n0, nb, hp, wp int) []T {
	size := nb * g.c * hp * wp
	job := jobOf[padJob[T]](e)
	if e.memoOn {
		buf, ready := memoFor[T](e, memoKey{kind: "pad", src: addressOf(x), geo: g, part: n0}, size)
		if ready {
			return buf
		}
		// A memo buffer serves this geometry only and is zero when made: its border stays zero.
		job.xp, job.border = buf, false
	} else {
		job.xp, job.border = scratch[T](e, 5, size), true
	}
	job.g, job.x, job.hp, job.wp = g, x[n0*g.c*g.h*g.w:(n0+nb)*g.c*g.h*g.w], hp, wp
	e.parallel(nb*g.c, job)
	xp := job.xp
	job.x, job.xp = nil, nil
	return xp
}

type padJob[T Float] struct {
	g      convGeometry
	x, xp  []T
	hp, wp int
	border bool // write the zero border too
}

func (job *padJob[T]) Run(lo, hi int) {
	g, hp, wp := job.g, job.hp, job.wp
	for q := lo; q < hi; q++ {
		src := job.x[q*g.h*g.w : (q+1)*g.h*g.w]
		dst := job.xp[q*hp*wp : (q+1)*hp*wp]
		if job.border {
			clear(dst[:g.pt*wp])
			for y := 0; y < g.h; y++ {
				row := dst[(g.pt+y)*wp : (g.pt+y+1)*wp]
				clear(row[:g.pl])
				clear(row[g.pl+g.w:])
			}
			clear(dst[(g.pt+g.h)*wp:])
		}
		copyRows(dst[g.pt*wp+g.pl:], src, g.h, g.w, g.w, wp)
	}
}

// col2im adds the columns of images [n0, n0+nb) back into dx (which the caller zeroed): the adjoint of
// im2col. Work is split by channel so no two threads write the same pixels.
func col2im[T Float](e *Exec, g convGeometry, col []T, n0, nb int, dx []T) {
	ohw := g.oh * g.ow
	cols := nb * ohw
	job := jobOf[col2imJob[T]](e)
	job.g, job.col, job.n0, job.nb, job.dx, job.ohw, job.cols = g, col, n0, nb, dx, ohw, cols
	e.parallel(g.c, job)
}

type col2imJob[T Float] struct {
	g    convGeometry
	col  []T
	n0   int
	nb   int
	dx   []T
	ohw  int
	cols int
}

func (job *col2imJob[T]) Run(lo, hi int) {
	g, col, n0, nb, dx, ohw, cols := job.g, job.col, job.n0, job.nb, job.dx, job.ohw, job.cols
	for c := lo; c < hi; c++ {
		for t := 0; t < g.nLive; t++ {
			{
				i, j := g.tap(t)
				r := c*g.nLive + t
				srcRow := col[r*cols : (r+1)*cols]
				ox0 := min(g.ow, max(0, (g.pl-j+g.sw-1)/g.sw))
				ox1 := min(g.ow, (g.w+g.pl-j+g.sw-1)/g.sw)
				for b := 0; b < nb; b++ {
					dst := dx[((n0+b)*g.c+c)*g.h*g.w:]
					in := srcRow[b*ohw : (b+1)*ohw]
					for oy := 0; oy < g.oh; oy++ {
						iy := oy*g.sh - g.pt + i
						if iy < 0 || iy >= g.h {
							continue
						}
						line := dst[iy*g.w : (iy+1)*g.w]
						row := in[oy*g.ow : (oy+1)*g.ow]
						ix := ox0*g.sw - g.pl + j
						for ox := ox0; ox < ox1; ox++ {
							line[ix] += row[ox]
							ix += g.sw
						}
					}
				}
			}
		}
	}
}

// gatherChannels copies (nb, O, P) planes starting at image n0 into an O × (nb·P) matrix.
func gatherChannels[T Float](e *Exec, src []T, n0, nb, o, p int, dst []T) {
	job := jobOf[gatherJob[T]](e)
	job.src, job.n0, job.nb, job.o, job.p, job.dst = src, n0, nb, o, p, dst
	e.parallel(o, job)
}

type gatherJob[T Float] struct {
	src []T
	n0  int
	nb  int
	o   int
	p   int
	dst []T
}

func (job *gatherJob[T]) Run(lo, hi int) {
	src, n0, nb, o, p, dst := job.src, job.n0, job.nb, job.o, job.p, job.dst
	for ch := lo; ch < hi; ch++ {
		for b := 0; b < nb; b++ {
			copy(dst[ch*nb*p+b*p:ch*nb*p+(b+1)*p], src[((n0+b)*o+ch)*p:])
		}
	}
}

// epilogue is what a convolution applies to its output on the way out when a bias is given: a
// per-channel affine map v·scale[c] + bias[c] (scale nil means 1: a plain bias; a folded inference-mode
// BatchNorm gives both), then ReLU if relu is set.
type epilogue struct{ relu bool }

// scatterChannels is the inverse of gatherChannels, applying the epilogue on the way when bias is
// non-nil.
func scatterChannels[T Float](e *Exec, src []T, n0, nb, o, p int, dst, scale, bias []T, ep epilogue) {
	job := jobOf[scatterJob[T]](e)
	job.src, job.n0, job.nb, job.o, job.p, job.dst, job.scale, job.bias, job.ep = src, n0, nb, o, p, dst, scale, bias, ep
	e.parallel(o, job)
}

// channelAffine returns channel ch's scale (1 without one) and bias.
func channelAffine[T Float](scale, bias []T, ch int) (T, T) {
	if scale == nil {
		return 1, bias[ch]
	}
	return scale[ch], bias[ch]
}

type scatterJob[T Float] struct {
	src   []T
	n0    int
	nb    int
	o     int
	p     int
	dst   []T
	scale []T
	bias  []T
	ep    epilogue
}

func (job *scatterJob[T]) Run(lo, hi int) {
	src, n0, nb, o, p, dst, bias, ep := job.src, job.n0, job.nb, job.o, job.p, job.dst, job.bias, job.ep
	for ch := lo; ch < hi; ch++ {
		for b := 0; b < nb; b++ {
			out := dst[((n0+b)*o+ch)*p : ((n0+b)*o+ch+1)*p]
			in := src[ch*nb*p+b*p : ch*nb*p+(b+1)*p]
			if bias == nil {
				copy(out, in)
				continue
			}
			sv, bv := channelAffine(job.scale, bias, ch)
			if ep.relu {
				for i, v := range in {
					out[i] = max(v*sv+bv, 0)
				}
			} else {
				for i, v := range in {
					out[i] = v*sv + bv
				}
			}
		}
	}
}

// gatheredGrad returns the output gradient of images [n0, n0+nb) as an O × (nb·OH·OW) matrix, from this
// run's memo when the other convolution gradient already gathered it.
func gatheredGrad[T Float](e *Exec, g convGeometry, dy []T, n0, nb int) []T {
	ohw := g.oh * g.ow
	size := g.o * nb * ohw
	if !e.memoOn {
		dyg := scratch[T](e, 1, size)
		gatherChannels(e, dy, n0, nb, g.o, ohw, dyg)
		return dyg
	}
	dyg, ready := memoFor[T](e, memoKey{kind: "gather", src: addressOf(dy), geo: g, part: n0}, size)
	if !ready {
		gatherChannels(e, dy, n0, nb, g.o, ohw, dyg)
	}
	return dyg
}

// perImageMin is the output size (OH·OW) from which convolutions multiply image by image, straight
// between NCHW tensors, instead of gathering a chunk of images into one wide matrix: large images
// already make wide matrices, and skipping the gather and scatter saves two passes over the data.
const perImageMin = 256

// pointwise reports a 1×1, stride-1, unpadded convolution, whose im2col matrix is the input itself.
func (g convGeometry) pointwise() bool {
	return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0
}

// perImage reports whether the convolution runs image by image (see perImageMin).
func (g convGeometry) perImage() bool { return g.pointwise() || g.oh*g.ow >= perImageMin }

// applyEpilogue applies the epilogue in place to y (N, O, P) when bias is non-nil.
func applyEpilogue[T Float](e *Exec, y []T, n, o, p int, scale, bias []T, ep epilogue) {
	if bias == nil {
		return
	}
	job := jobOf[epilogueJob[T]](e)
	job.y, job.o, job.p, job.scale, job.bias, job.ep = y, o, p, scale, bias, ep
	e.parallel(n*o, job)
}

type epilogueJob[T Float] struct {
	y     []T
	o     int
	p     int
	scale []T
	bias  []T
	ep    epilogue
}

func (job *epilogueJob[T]) Run(lo, hi int) {
	y, o, p, ep := job.y, job.o, job.p, job.ep
	for q := lo; q < hi; q++ {
		sv, bv := channelAffine(job.scale, job.bias, q%o)
		plane := y[q*p : (q+1)*p]
		if ep.relu {
			for i, v := range plane {
				plane[i] = max(v*sv+bv, 0)
			}
		} else {
			for i, v := range plane {
				plane[i] = v*sv + bv
			}
		}
	}
}

// convForward computes y = conv(x, w) by im2col and one GEMM per chunk of images.
func convForward[T Float](e *Exec, g convGeometry, x, w, y []T) error {
	return convForwardEpilogue(e, g, x, w, y, nil, nil, epilogue{})
}

// convForwardEpilogue is convForward followed by the epilogue (when bias is non-nil). It multiplies the
// weights by the input's im2col matrix, generated block by block inside the GEMM.
func convForwardEpilogue[T Float](e *Exec, g convGeometry, x, w, y, scale, bias []T, ep epilogue) error {
	k := g.k()
	w = liveWeights(e, g, w)
	ohw := g.oh * g.ow
	if g.perImage() {
		for n := 0; n < g.n; n++ {
			yn := y[n*g.o*ohw : (n+1)*g.o*ohw]
			var err error
			if g.pointwise() {
				err = gemm(e, false, false, g.o, ohw, k, 1, w, k, x[n*k*ohw:(n+1)*k*ohw], ohw, 0, yn, ohw)
			} else {
				err = gemmSource(e, false, false, g.o, ohw, k, 1, w, k, columnsOf(e, g, x, n, 1), 0, yn, ohw)
			}
			if err != nil {
				return err
			}
		}
		applyEpilogue(e, y, g.n, g.o, ohw, scale, bias, ep)
		return nil
	}
	chunk := g.imagesPerChunk(g.o * ohw)
	tmp := scratch[T](e, 2, g.o*chunk*ohw)
	for n0 := 0; n0 < g.n; n0 += chunk {
		nb := min(chunk, g.n-n0)
		cols := nb * ohw
		if err := gemmSource(e, false, false, g.o, cols, k, 1, w, k, columnsOf(e, g, x, n0, nb), 0, tmp, cols); err != nil {
			return err
		}
		scatterChannels(e, tmp, n0, nb, g.o, ohw, y, scale, bias, ep)
	}
	return nil
}

// convBackpropFilter computes dw = Σ_images dy · colᵀ.
func convBackpropFilter[T Float](e *Exec, g convGeometry, x, dy, dw []T) error {
	if !g.allLive() {
		live := scratch[T](e, 3, g.o*g.k())
		if err := convBackpropFilterLive(e, g, x, dy, live); err != nil {
			return err
		}
		spreadWeights(g, live, dw)
		return nil
	}
	return convBackpropFilterLive(e, g, x, dy, dw)
}

// convBackpropFilterLive computes the kernel gradient over the live taps, O × (C·live taps).
func convBackpropFilterLive[T Float](e *Exec, g convGeometry, x, dy, dw []T) error {
	k := g.k()
	ohw := g.oh * g.ow
	if g.perImage() {
		for n := 0; n < g.n; n++ {
			dyn := dy[n*g.o*ohw : (n+1)*g.o*ohw]
			beta := T(1)
			if n == 0 {
				beta = 0
			}
			var err error
			if g.pointwise() {
				err = gemm(e, false, true, g.o, k, ohw, 1, dyn, ohw, x[n*k*ohw:(n+1)*k*ohw], ohw, beta, dw, k)
			} else {
				err = gemmSource(e, false, true, g.o, k, ohw, 1, dyn, ohw, columnsOf(e, g, x, n, 1), beta, dw, k)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	chunk := g.imagesPerChunk(g.o * ohw)
	for n0 := 0; n0 < g.n; n0 += chunk {
		nb := min(chunk, g.n-n0)
		cols := nb * ohw
		dyg := gatheredGrad(e, g, dy, n0, nb)
		beta := T(1)
		if n0 == 0 {
			beta = 0
		}
		if err := gemmSource(e, false, true, g.o, k, cols, 1, dyg, cols, columnsOf(e, g, x, n0, nb), beta, dw, k); err != nil {
			return err
		}
	}
	return nil
}

// convBackpropInput computes dx = col2im(wᵀ · dy); a stride-1 convolution instead convolves dy with the
// flipped, transposed kernel (see transposedConv), which needs neither the column matrix nor col2im.
func convBackpropInput[T Float](e *Exec, g convGeometry, w, dy, dx []T) error {
	if tg, ok := g.transposed(); ok && !g.pointwise() && g.allLive() {
		return convForward(e, tg, dy, flippedKernel(e, g, w), dx)
	}
	k := g.k()
	w = liveWeights(e, g, w)
	ohw := g.oh * g.ow
	if g.perImage() {
		if g.pointwise() {
			size := g.c * g.h * g.w
			for n := 0; n < g.n; n++ {
				if err := gemm(e, true, false, k, ohw, g.o, 1, w, k, dy[n*g.o*ohw:(n+1)*g.o*ohw], ohw, 0, dx[n*size:(n+1)*size], ohw); err != nil {
					return err
				}
			}
			return nil
		}
		dcol := scratch[T](e, 0, k*ohw)
		clear(dx)
		for n := 0; n < g.n; n++ {
			if err := gemm(e, true, false, k, ohw, g.o, 1, w, k, dy[n*g.o*ohw:(n+1)*g.o*ohw], ohw, 0, dcol, ohw); err != nil {
				return err
			}
			col2im(e, g, dcol, n, 1, dx)
		}
		return nil
	}
	chunk := g.imagesPerChunk(k * ohw)
	dcol := scratch[T](e, 0, k*chunk*ohw)
	clear(dx)
	for n0 := 0; n0 < g.n; n0 += chunk {
		nb := min(chunk, g.n-n0)
		cols := nb * ohw
		dyg := gatheredGrad(e, g, dy, n0, nb)
		if err := gemm(e, true, false, k, cols, g.o, 1, w, k, dyg, cols, 0, dcol, cols); err != nil {
			return err
		}
		col2im(e, g, dcol, n0, nb, dx)
	}
	return nil
}

// transposed returns, for a stride-1 convolution, the convolution whose output is this one's input
// gradient: dx = conv(dy, w′) with w′[c][o][i][j] = w[o][c][KH−1−i][KW−1−j] and padding KH−1−top,
// KH−1−bottom (likewise for columns), which maps the OH×OW gradient back to H×W.
func (g convGeometry) transposed() (convGeometry, bool) {
	if g.sh != 1 || g.sw != 1 {
		return convGeometry{}, false
	}
	pb, pr := g.oh+g.kh-1-g.h-g.pt, g.ow+g.kw-1-g.w-g.pl // this convolution's bottom and right padding
	pad := Padding{Top: g.kh - 1 - g.pt, Bottom: g.kh - 1 - pb, Left: g.kw - 1 - g.pl, Right: g.kw - 1 - pr}
	if pad.Top < 0 || pad.Bottom < 0 || pad.Left < 0 || pad.Right < 0 {
		return convGeometry{}, false
	}
	tg, err := newConvGeometry(g.n, g.o, g.oh, g.ow, g.c, g.kh, g.kw, 1, 1, pad)
	if err != nil || tg.oh != g.h || tg.ow != g.w {
		return convGeometry{}, false
	}
	return tg, true
}

// flippedKernel returns w′[c][o][i][j] = w[o][c][KH−1−i][KW−1−j] (see transposed), in scratch slot 4.
func flippedKernel[T Float](e *Exec, g convGeometry, w []T) []T {
	job := jobOf[flipJob[T]](e)
	job.g, job.w, job.out = g, w, scratch[T](e, 4, len(w))
	e.parallel(g.o, job)
	out := job.out
	job.w, job.out = nil, nil
	return out
}

type flipJob[T Float] struct {
	g      convGeometry
	w, out []T
}

func (job *flipJob[T]) Run(lo, hi int) {
	g := job.g
	taps := g.kh * g.kw
	for o := lo; o < hi; o++ {
		for c := 0; c < g.c; c++ {
			src := job.w[(o*g.c+c)*taps:][:taps]
			dst := job.out[(c*g.o+o)*taps:][:taps]
			for t, v := range src {
				dst[taps-1-t] = v
			}
		}
	}
}
