package cuda

// emulate.go owns the Go emulations of fovea's CUDA kernels: one function per catalogue entry (abi.go)
// that computes items 0..n-1 exactly as kernels/fovea.cu does (the same values from the same inputs:
// same float32/float64 choices, same order of accumulation; the kernels may find an item's indices
// another way, as the layout kernels step index digits instead of dividing), reading its parameters from Args
// by position. Products are
// rounded to float32 explicitly where a compiler could otherwise fuse a multiply-add (the kernels are
// compiled with -fmad=false), so results match the kernels bit for bit except where the device's
// double-precision exp and log differ from Go's in the last place.

import "math"

var emulations = map[string]emulation{
	"fill":              emulateFill,
	"copy":              emulateCopy,
	"add":               emulateAdd,
	"relu":              emulateReLU,
	"relu_grad":         emulateReLUGrad,
	"channel_affine":    emulateChannelAffine,
	"scatter_channels":  emulateScatterChannels,
	"gather_channels":   emulateGatherChannels,
	"copy_blocks":       emulateCopyBlocks,
	"im2col":            emulateIm2col,
	"col2im":            emulateCol2im,
	"maxpool":           emulateMaxPool,
	"maxpool_grad":      emulateMaxPoolGrad,
	"maxpool_relu_grad": emulateMaxPoolReLUGrad,
	"avgpool":           emulateAvgPool,
	"avgpool_grad":      emulateAvgPoolGrad,
	"dropout":           emulateDropout,
	"softmax_xent_rows": emulateSoftmaxXentRows,
	"softmax_xent_grad": emulateSoftmaxXentGrad,
	"correct_rows":      emulateCorrectRows,
	"adam":              emulateAdam,
	"sgd":               emulateSGD,
	"scale":             emulateScale,
	// global average pooling
	"global_avgpool":      emulateGlobalAvgPool,
	"global_avgpool_grad": emulateGlobalAvgPoolGrad,
	// batch normalisation
	"widen":                emulateWiden,
	"narrow":               emulateNarrow,
	"plane_sums":           emulatePlaneSums,
	"channel_sums":         emulateChannelSums,
	"batchnorm_fold":       emulateBatchNormFold,
	"batchnorm_train_grad": emulateBatchNormTrainGrad,
	"batchnorm_gamma_grad": emulateBatchNormGammaGrad,
	"moving_average":       emulateMovingAverage,
	// depthwise convolution and depthwise max pooling
	"depthwise_conv":             emulateDepthwiseConv,
	"depthwise_conv_grad_input":  emulateDepthwiseConvGradInput,
	"depthwise_conv_grad_filter": emulateDepthwiseConvGradFilter,
	"depthwise_maxpool":          emulateDepthwiseMaxPool,
	"depthwise_maxpool_grad":     emulateDepthwiseMaxPoolGrad,
}

// ---- elementwise ----

func emulateFill(n int, a *Args) {
	y, v := a.F32[0], a.Float[1]
	for i := range n {
		y[i] = v
	}
}

func emulateCopy(n int, a *Args) { copy(a.F32[1][:n], a.F32[0][:n]) }

func emulateAdd(n int, a *Args) {
	x, z, y := a.F32[0], a.F32[1], a.F32[2]
	for i := range n {
		y[i] = x[i] + z[i]
	}
}

// emulateReLU clears every value whose sign bit is set, so -0 becomes +0 (graph's relu32).
func emulateReLU(n int, a *Args) {
	x, y := a.F32[0], a.F32[1]
	for i := range n {
		b := int32(math.Float32bits(x[i]))
		y[i] = math.Float32frombits(uint32(b &^ (b >> 31)))
	}
}

// emulateReLUGrad passes dy where y's bits, as a signed integer, are positive (graph's reluGrad32).
func emulateReLUGrad(n int, a *Args) {
	y, dy, dx := a.F32[0], a.F32[1], a.F32[2]
	for i := range n {
		if int32(math.Float32bits(y[i])) > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// ---- per-channel affine maps and layout changes ----

// affineEpilogue is channel c's epilogue: v·scale[c] if flags&2, + bias[c] if flags&1, then max(v, 0)
// if flags&4.
func affineEpilogue(v float32, scale, bias []float32, c, flags int) float32 {
	if flags&2 != 0 {
		v = float32(v * scale[c])
	}
	if flags&1 != 0 {
		v += bias[c]
	}
	if flags&4 != 0 {
		v = max(v, 0)
	}
	return v
}

func emulateChannelAffine(n int, a *Args) {
	x, scale, bias, y := a.F32[0], a.F32[1], a.F32[2], a.F32[3]
	channels, inner, flags := a.Int[4], a.Int[5], a.Int[6]
	for i := range n {
		y[i] = affineEpilogue(x[i], scale, bias, i/inner%channels, flags)
	}
}

func emulateScatterChannels(n int, a *Args) {
	src, scale, bias, dst := a.F32[0], a.F32[1], a.F32[2], a.F32[3]
	nb, o, p, flags := a.Int[4], a.Int[5], a.Int[6], a.Int[7]
	for i := range n {
		img, c, q := i/(o*p), i/p%o, i%p
		dst[i] = affineEpilogue(src[c*nb*p+img*p+q], scale, bias, c, flags)
	}
}

func emulateGatherChannels(n int, a *Args) {
	src, dst := a.F32[0], a.F32[1]
	nb, o, p := a.Int[2], a.Int[3], a.Int[4]
	for i := range n {
		c, r := i/(nb*p), i%(nb*p)
		img, q := r/p, r%p
		dst[i] = src[(img*o+c)*p+q]
	}
}

func emulateCopyBlocks(n int, a *Args) {
	x, y := a.F32[0], a.F32[1]
	size, xStride, yStride := a.Int[2], a.Int[3], a.Int[4]
	for i := range n {
		r, q := i/size, i%size
		y[r*yStride+q] = x[r*xStride+q]
	}
}

// ---- window geometry ----

// windowGeometry is the geometry parameter block of the window kernels (abi.go, geometry).
type windowGeometry struct {
	n, c, h, w, kh, kw, sh, sw, pt, pl, oh, ow int
}

// geometryAt reads the geometry block starting at parameter position first.
func geometryAt(a *Args, first int) windowGeometry {
	v := a.Int[first : first+12]
	return windowGeometry{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]}
}

// window returns the input rows [y0, y1) and columns [x0, x1) that output (oy, ox) pools, clipped to the
// image.
func (g windowGeometry) window(oy, ox int) (y0, y1, x0, x1 int) {
	y0, x0 = oy*g.sh-g.pt, ox*g.sw-g.pl
	y1, x1 = min(y0+g.kh, g.h), min(x0+g.kw, g.w)
	return max(y0, 0), y1, max(x0, 0), x1
}

// windowsOver returns the outputs [lo, hi] along one axis whose windows cover input position pos.
func windowsOver(pos, pad, k, stride, out int) (lo, hi int) {
	if t := pos + pad - k + 1; t > 0 {
		lo = (t + stride - 1) / stride
	}
	return lo, min((pos+pad)/stride, out-1)
}

// pixel splits an input item index into its plane (image·C + channel), row and column.
func (g windowGeometry) pixel(i int) (plane, iy, ix int) {
	return i / (g.h * g.w), i / g.w % g.h, i % g.w
}

// output splits an output item index into its plane, row and column.
func (g windowGeometry) output(i int) (plane, oy, ox int) {
	return i / (g.oh * g.ow), i / g.ow % g.oh, i % g.ow
}

// ---- convolution lowering ----

func emulateIm2col(n int, a *Args) {
	x, col, g := a.F32[0], a.F32[1], geometryAt(a, 2)
	cols, taps := g.n*g.oh*g.ow, g.kh*g.kw
	for i := range n {
		row, j := i/cols, i%cols
		c, ki, kj := row/taps, row%taps/g.kw, row%g.kw
		img, oy, ox := g.output(j)
		iy, ix := oy*g.sh-g.pt+ki, ox*g.sw-g.pl+kj
		if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w {
			col[i] = x[((img*g.c+c)*g.h+iy)*g.w+ix]
		} else {
			col[i] = 0
		}
	}
}

// emulateCol2im sums, for input pixel i, the column entries of every tap that reads it, taps in
// row-major order.
func emulateCol2im(n int, a *Args) {
	col, dx, g := a.F32[0], a.F32[1], geometryAt(a, 2)
	cols := g.n * g.oh * g.ow
	for i := range n {
		plane, iy, ix := g.pixel(i)
		img, c := plane/g.c, plane%g.c
		var sum float32
		for ki := range g.kh {
			ty := iy + g.pt - ki
			if ty < 0 || ty%g.sh != 0 || ty/g.sh >= g.oh {
				continue
			}
			for kj := range g.kw {
				tx := ix + g.pl - kj
				if tx < 0 || tx%g.sw != 0 || tx/g.sw >= g.ow {
					continue
				}
				row, column := (c*g.kh+ki)*g.kw+kj, (img*g.oh+ty/g.sh)*g.ow+tx/g.sw
				sum += col[row*cols+column]
			}
		}
		dx[i] = sum
	}
}

// ---- pooling ----

func emulateMaxPool(n int, a *Args) {
	x, y, g := a.F32[0], a.F32[1], geometryAt(a, 2)
	for i := range n {
		plane, oy, ox := g.output(i)
		in := x[plane*g.h*g.w:]
		y0, y1, x0, x1 := g.window(oy, ox)
		best := in[y0*g.w+x0]
		for iy := y0; iy < y1; iy++ {
			for jx := x0; jx < x1; jx++ {
				best = max(best, in[iy*g.w+jx])
			}
		}
		y[i] = best
	}
}

// firstEqual is the index in its plane of the first pixel (row-major) of output (oy, ox)'s window that
// equals m, or of the window's first pixel when none does.
func (g windowGeometry) firstEqual(in []float32, oy, ox int, m float32) int {
	y0, y1, x0, x1 := g.window(oy, ox)
	for iy := y0; iy < y1; iy++ {
		for jx := x0; jx < x1; jx++ {
			if in[iy*g.w+jx] == m {
				return iy*g.w + jx
			}
		}
	}
	return y0*g.w + x0
}

func emulateMaxPoolGrad(n int, a *Args) {
	x, y, dy, dx, g := a.F32[0], a.F32[1], a.F32[2], a.F32[3], geometryAt(a, 4)
	for i := range n {
		plane, iy, ix := g.pixel(i)
		in, out, grad := x[plane*g.h*g.w:], y[plane*g.oh*g.ow:], dy[plane*g.oh*g.ow:]
		oy0, oy1 := windowsOver(iy, g.pt, g.kh, g.sh, g.oh)
		ox0, ox1 := windowsOver(ix, g.pl, g.kw, g.sw, g.ow)
		var sum float32
		for oy := oy0; oy <= oy1; oy++ {
			for ox := ox0; ox <= ox1; ox++ {
				o := oy*g.ow + ox
				if g.firstEqual(in, oy, ox, out[o]) == iy*g.w+ix {
					sum += grad[o]
				}
			}
		}
		dx[i] = sum
	}
}

// emulateMaxPoolReLUGrad is maxpool_grad, then relu_grad's mask with the pooling's input as the ReLU's
// output.
func emulateMaxPoolReLUGrad(n int, a *Args) {
	emulateMaxPoolGrad(n, a)
	x, dx := a.F32[0], a.F32[3]
	for i := range n {
		if int32(math.Float32bits(x[i])) <= 0 {
			dx[i] = 0
		}
	}
}

// pooledCount is the number of in-image pixels of output (oy, ox)'s window: AvgPool2D's divisor.
func (g windowGeometry) pooledCount(oy, ox int) int {
	y0, y1, x0, x1 := g.window(oy, ox)
	return (y1 - y0) * (x1 - x0)
}

func emulateAvgPool(n int, a *Args) {
	x, y, g := a.F32[0], a.F32[1], geometryAt(a, 2)
	for i := range n {
		plane, oy, ox := g.output(i)
		in := x[plane*g.h*g.w:]
		y0, y1, x0, x1 := g.window(oy, ox)
		var s float32
		for iy := y0; iy < y1; iy++ {
			for jx := x0; jx < x1; jx++ {
				s += in[iy*g.w+jx]
			}
		}
		y[i] = s / float32((y1-y0)*(x1-x0))
	}
}

func emulateAvgPoolGrad(n int, a *Args) {
	dy, dx, g := a.F32[0], a.F32[1], geometryAt(a, 2)
	for i := range n {
		plane, iy, ix := g.pixel(i)
		grad := dy[plane*g.oh*g.ow:]
		oy0, oy1 := windowsOver(iy, g.pt, g.kh, g.sh, g.oh)
		ox0, ox1 := windowsOver(ix, g.pl, g.kw, g.sw, g.ow)
		var sum float32
		for oy := oy0; oy <= oy1; oy++ {
			for ox := ox0; ox <= ox1; ox++ {
				sum += grad[oy*g.ow+ox] / float32(g.pooledCount(oy, ox))
			}
		}
		dx[i] = sum
	}
}

// ---- depthwise convolution and depthwise max pooling ----
//
// The geometry's C is the input channels and M (the parameter after it) the depth multiplier: output
// channel o reads input channel o/M through filter o.

func emulateDepthwiseConv(n int, a *Args) {
	x, w, y, g, m := a.F32[0], a.F32[1], a.F32[2], geometryAt(a, 3), a.Int[15]
	o, taps := g.c*m, g.kh*g.kw
	for i := range n {
		plane, oy, ox := g.output(i)
		img, ch := plane/o, plane%o
		in, k := x[(img*g.c+ch/m)*g.h*g.w:], w[ch*taps:]
		var sum float32
		for ki := range g.kh {
			iy := oy*g.sh - g.pt + ki
			if iy < 0 || iy >= g.h {
				continue
			}
			for kj := range g.kw {
				ix := ox*g.sw - g.pl + kj
				if ix < 0 || ix >= g.w {
					continue
				}
				sum += float32(k[ki*g.kw+kj] * in[iy*g.w+ix])
			}
		}
		y[i] = sum
	}
}

// emulateDepthwiseConvGradInput gathers, for input pixel i, the gradient of every output reading it:
// its M output channels in order, each over the taps in row-major order.
func emulateDepthwiseConvGradInput(n int, a *Args) {
	w, dy, dx, g, m := a.F32[0], a.F32[1], a.F32[2], geometryAt(a, 3), a.Int[15]
	o, taps, ohw := g.c*m, g.kh*g.kw, g.oh*g.ow
	for i := range n {
		plane, iy, ix := g.pixel(i)
		img, c := plane/g.c, plane%g.c
		var sum float32
		for mm := range m {
			ch := c*m + mm
			k, grad := w[ch*taps:], dy[(img*o+ch)*ohw:]
			for ki := range g.kh {
				ty := iy + g.pt - ki
				if ty < 0 || ty%g.sh != 0 || ty/g.sh >= g.oh {
					continue
				}
				for kj := range g.kw {
					tx := ix + g.pl - kj
					if tx < 0 || tx%g.sw != 0 || tx/g.sw >= g.ow {
						continue
					}
					sum += float32(k[ki*g.kw+kj] * grad[ty/g.sh*g.ow+tx/g.sw])
				}
			}
		}
		dx[i] = sum
	}
}

func emulateDepthwiseConvGradFilter(n int, a *Args) {
	x, dy, partial, g, m := a.F32[0], a.F32[1], a.F64[2], geometryAt(a, 3), a.Int[15]
	o, taps := g.c*m, g.kh*g.kw
	for i := range n {
		img, r := i/(o*taps), i%(o*taps)
		ch, ki, kj := r/taps, r%taps/g.kw, r%g.kw
		in, grad := x[(img*g.c+ch/m)*g.h*g.w:], dy[(img*o+ch)*g.oh*g.ow:]
		var s float64
		for oy := range g.oh {
			iy := oy*g.sh - g.pt + ki
			if iy < 0 || iy >= g.h {
				continue
			}
			for ox := range g.ow {
				ix := ox*g.sw - g.pl + kj
				if ix < 0 || ix >= g.w {
					continue
				}
				s += float64(float64(grad[oy*g.ow+ox]) * float64(in[iy*g.w+ix]))
			}
		}
		partial[i] = s
	}
}

// emulateDepthwiseMaxPool keeps the first maximum of each group: a later channel wins only when greater.
func emulateDepthwiseMaxPool(n int, a *Args) {
	x, y, k, plane := a.F32[0], a.F32[1], a.Int[2], a.Int[3]
	for i := range n {
		p, q := i/plane, i%plane
		in := x[p*k*plane+q:]
		best := in[0]
		for c := 1; c < k; c++ {
			if v := in[c*plane]; v > best {
				best = v
			}
		}
		y[i] = best
	}
}

func emulateDepthwiseMaxPoolGrad(n int, a *Args) {
	x, dy, dx, k, plane := a.F32[0], a.F32[1], a.F32[2], a.Int[3], a.Int[4]
	for i := range n {
		r, q := i/plane, i%plane
		p, self := r/k, r%k
		in := x[p*k*plane+q:]
		at, best := 0, in[0]
		for c := 1; c < k; c++ {
			if v := in[c*plane]; v > best {
				at, best = c, v
			}
		}
		if at == self {
			dx[i] = dy[p*plane+q]
		} else {
			dx[i] = 0
		}
	}
}

// ---- dropout ----

// mix64 is the splitmix64 finaliser, a copy of graph/dropout.go's.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func emulateDropout(n int, a *Args) {
	x, step, y := a.F32[0], a.I64[1], a.F32[2]
	threshold, scale, seed := uint32(a.Int[3]), a.Float[4], a.U64[5]
	key := mix64(seed ^ mix64(uint64(step[0])+0x9e3779b97f4a7c15))
	for i := range n {
		if uint32(mix64(key+uint64(i))>>40) >= threshold {
			y[i] = x[i] * scale
		} else {
			y[i] = 0
		}
	}
}

// ---- softmax cross-entropy ----

// logSumExp returns max(row) and log Σ exp(row − max), in float64.
func logSumExp(row []float32) (m, lse float64) {
	m = float64(row[0])
	for _, v := range row[1:] {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - m)
	}
	return m, math.Log(s)
}

// emulateSoftmaxXentRows gives each sample's loss; an out-of-range label gives NaN (the CPU op returns
// an error; a kernel cannot).
func emulateSoftmaxXentRows(n int, a *Args) {
	logits, labels, loss := a.F32[0], a.I32[1], a.F32[2]
	k, eps := a.Int[3], float64(a.Float[4])
	for i := range n {
		row, label := logits[i*k:(i+1)*k], int(labels[i])
		if label < 0 || label >= k {
			loss[i] = float32(math.NaN())
			continue
		}
		m, lse := logSumExp(row)
		rowLoss := -(1 - eps) * (float64(row[label]) - m - lse)
		if eps > 0 {
			var sum float64
			for _, v := range row {
				sum += float64(v) - m - lse
			}
			rowLoss -= float64(eps / float64(k) * sum)
		}
		loss[i] = float32(rowLoss)
	}
}

func emulateSoftmaxXentGrad(n int, a *Args) {
	logits, labels, g, d := a.F32[0], a.I32[1], a.F32[2], a.F32[3]
	k, eps, invN := a.Int[4], float64(a.Float[5]), a.Float[6]
	for i := range n {
		r, j := i/k, i%k
		row, label := logits[r*k:(r+1)*k], int(labels[r])
		if label < 0 || label >= k {
			d[i] = float32(math.NaN())
			continue
		}
		m, lse := logSumExp(row)
		t := eps / float64(k)
		if j == label {
			t += 1 - eps
		}
		scale := float64(g[0]) * float64(invN)
		d[i] = float32(scale * (math.Exp(float64(row[j])-m-lse) - t))
	}
}

func emulateCorrectRows(n int, a *Args) {
	logits, labels, correct := a.F32[0], a.I32[1], a.F32[2]
	k := a.Int[3]
	for i := range n {
		row, best := logits[i*k:(i+1)*k], 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		correct[i] = 0
		if best == int(labels[i]) {
			correct[i] = 1
		}
	}
}

// ---- optimiser ----

// emulateAdam is training's adaptive update (see the catalogue's "adam").
func emulateAdam(n int, a *Args) {
	p, g, m, v := a.F32[0], a.F32[1], a.F32[2], a.F32[3]
	oneMinusB1, oneMinusB2, cm, cg, cv, lr, eps := a.Float[4], a.Float[5], a.Float[6], a.Float[7], a.Float[8], a.Float[9], a.Float[10]
	for i := range n {
		gi := g[i]
		mi := m[i] + float32((gi-m[i])*oneMinusB1)
		vi := v[i] + float32((float32(gi*gi)-v[i])*oneMinusB2)
		m[i], v[i] = mi, vi
		p[i] -= lr * (float32(cm*mi) + float32(cg*gi)) / (float32(math.Sqrt(float64(vi*cv))) + eps)
	}
}

// emulateSGD is training's SGD update (see the catalogue's "sgd").
func emulateSGD(n int, a *Args) {
	p, g, v := a.F32[0], a.F32[1], a.F32[2]
	mu, lr, nesterov := a.Float[3], a.Float[4], a.Int[5] != 0
	for i := range n {
		gi := g[i]
		if v == nil {
			p[i] -= float32(lr * gi)
			continue
		}
		vi := float32(mu*v[i]) - float32(lr*gi)
		v[i] = vi
		if nesterov {
			p[i] += float32(mu*vi) - float32(lr*gi)
		} else {
			p[i] += vi
		}
	}
}

// ---- global average pooling ----

// emulateGlobalAvgPool sums each plane in order in float32, as graph's globalAvgPool does.
func emulateGlobalAvgPool(n int, a *Args) {
	x, y, size := a.F32[0], a.F32[1], a.Int[2]
	for i := range n {
		var s float32
		for _, v := range x[i*size : (i+1)*size] {
			s += v
		}
		y[i] = s / float32(size)
	}
}

func emulateGlobalAvgPoolGrad(n int, a *Args) {
	dy, dx, size := a.F32[0], a.F32[1], a.Int[2]
	for i := range n {
		dx[i] = dy[i/size] / float32(size)
	}
}

// ---- batch normalisation ----
//
// graph's batch normalisation kernels compute per-channel statistics and sums in float64; the device
// keeps them in float64 scratch between kernels (plane_sums, then channel_sums), so only the results
// are rounded to float32, where the CPU rounds them.

func emulateWiden(n int, a *Args) {
	x, y := a.F32[0], a.F64[1]
	for i := range n {
		y[i] = float64(x[i])
	}
}

func emulateNarrow(n int, a *Args) {
	x, y := a.F64[0], a.F32[1]
	for i := range n {
		y[i] = float32(x[i])
	}
}

func emulatePlaneSums(n int, a *Args) {
	x, w, mean, sums := a.F32[0], a.F32[1], a.F64[2], a.F64[3]
	channels, inner := a.Int[4], a.Int[5]
	for i := range n {
		xs := x[i*inner : (i+1)*inner]
		var s float64
		switch {
		case mean == nil:
			for _, v := range xs {
				s += float64(v)
			}
		case w == nil:
			m := mean[i%channels]
			for _, v := range xs {
				d := float64(v) - m
				s += float64(d * d)
			}
		default:
			m, ws := mean[i%channels], w[i*inner:(i+1)*inner]
			for j, v := range xs {
				s += float64(float64(ws[j]) * (float64(v) - m))
			}
		}
		sums[i] = s
	}
}

func emulateChannelSums(n int, a *Args) {
	sums, out := a.F64[0], a.F64[1]
	nb, channels, count := a.Int[2], a.Int[3], a.Int[4]
	for i := range n {
		var s float64
		for img := range nb {
			s += sums[img*channels+i]
		}
		out[i] = s / float64(count)
	}
}

func emulateBatchNormFold(n int, a *Args) {
	gamma, beta, mean, variance, scale, shift := a.F32[0], a.F32[1], a.F64[2], a.F64[3], a.F32[4], a.F32[5]
	eps := a.Double[6]
	for i := range n {
		s := float64(gamma[i]) / math.Sqrt(variance[i]+eps)
		var b, m float64
		if beta != nil {
			b = float64(beta[i])
		}
		if mean != nil {
			m = mean[i]
		}
		scale[i], shift[i] = float32(s), float32(b-float64(m*s))
	}
}

func emulateBatchNormTrainGrad(n int, a *Args) {
	x, dy, gamma := a.F32[0], a.F32[1], a.F32[2]
	mean, variance, meanDy, meanDyXc, dx := a.F64[3], a.F64[4], a.F64[5], a.F64[6], a.F32[7]
	channels, inner, eps := a.Int[8], a.Int[9], a.Double[10]
	for i := range n {
		c := i / inner % channels
		inv := 1 / math.Sqrt(variance[c]+eps)
		xhat := float64((float64(x[i]) - mean[c]) * inv)
		k := float64(float64(gamma[c]) * inv)
		meanDyXhat := float64(meanDyXc[c] * inv)
		dx[i] = float32(k * (float64(dy[i]) - meanDy[c] - float64(xhat*meanDyXhat)))
	}
}

func emulateBatchNormGammaGrad(n int, a *Args) {
	sum, variance, dgamma, eps := a.F64[0], a.F64[1], a.F32[2], a.Double[3]
	for i := range n {
		inv := 1 / math.Sqrt(variance[i]+eps)
		dgamma[i] = float32(sum[i] * inv)
	}
}

// emulateScale is training's decoupled weight decay (see the catalogue's "scale").
func emulateScale(n int, a *Args) {
	p, factor := a.F32[0], a.Float[1]
	for i := range n {
		p[i] *= factor
	}
}

// emulateMovingAverage is training's stateUpdate in float32.
func emulateMovingAverage(n int, a *Args) {
	p, v, m := a.F32[0], a.F32[1], a.Float[2]
	for i := range n {
		p[i] = float32(m*p[i]) + float32((1-m)*v[i])
	}
}
