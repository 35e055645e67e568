package cuda

import (
	"fmt"

	"fovea/graph"

	"gorgonia.org/tensor"
)

// keptLayoutBytes bounds the device memory Lower spends on keeping layout results for reuse (see
// layoutReuse): 2 GiB. Beyond it, the later step recomputes them.
const keptLayoutBytes = 2 << 30

// layoutReuse keeps layout work that a training step would otherwise do twice. A convolution's kernel
// gradient needs im2col of the same input, with the same window, as its forward pass; and its input and
// kernel gradients both gather the same output gradient into channel-major order. The first launch
// writes such a matrix into a buffer of its own instead of the shared scratch, and the later step
// reads it from there. The inputs are intact in between: the later step reads them too.
type layoutReuse struct {
	colsWanted    map[colKey]bool       // im2col matrices a kernel gradient reads
	gathersWanted map[*tensor.Dense]int // output gradients → how many convolution gradients gather them
	cols          map[colKey]Ref        // matrices kept so far
	gathers       map[*tensor.Dense]Ref // gathered gradients kept so far
	bytes, budget int64                 // kept so far, and at most
}

// colKey names an im2col matrix: the input and the window.
type colKey struct {
	x *tensor.Dense
	g window
}

// findLayoutReuse finds, before lowering, which layout results a later step reads again.
func findLayoutReuse(steps []graph.Step, budget int64) layoutReuse {
	r := layoutReuse{colsWanted: map[colKey]bool{}, gathersWanted: map[*tensor.Dense]int{},
		cols: map[colKey]Ref{}, gathers: map[*tensor.Dense]Ref{}, budget: budget}
	for i := range steps {
		s := &steps[i]
		switch k := s.Kernel.(type) {
		case graph.Conv2DBackpropFilter:
			x, dy := s.In[0], s.In[1]
			r.colsWanted[colKey{x, convWindow(k.StrideH, k.StrideW, k.Pad, x.Shape(), s.Out.Shape(), dy.Shape())}] = true
			r.gathersWanted[dy]++
		case graph.Conv2DBackpropInput:
			r.gathersWanted[s.In[1]]++
		}
	}
	return r
}

// keep reports whether bytes more may be kept, and counts them if so.
func (r *layoutReuse) keep(bytes int64) bool {
	if r.bytes+bytes > r.budget {
		return false
	}
	r.bytes += bytes
	return true
}

// newBuffer adds a device buffer of its own.
func (p *Plan) newBuffer(name string, bytes int64) Ref {
	p.Buffers = append(p.Buffers, Buffer{Name: name, Bytes: bytes})
	return Ref{Buf: len(p.Buffers) - 1}
}

// im2col returns where x's im2col matrix for window g is, launching im2col unless a kept matrix
// already holds it: in a buffer of its own when a kernel gradient reads it later, else in the shared
// scratch.
func (p *Plan) im2col(x *tensor.Dense, g window) Ref {
	key := colKey{x, g}
	if col, ok := p.reuse.cols[key]; ok {
		return col
	}
	size := int64(g.k()) * int64(g.n*g.p())
	var col Ref
	if p.reuse.colsWanted[key] && p.reuse.keep(4*size) {
		col = p.newBuffer(fmt.Sprintf("im2col of %v", x.Shape()), 4*size)
		p.reuse.cols[key] = col
	} else {
		col = p.scratchRef("col", size)
	}
	p.launch("im2col", int(size), append([]Arg{ptr(p.at(x)), ptr(col)}, g.args()...)...)
	return col
}

// gatherChannels returns where dy (N, O, H, W) is in channel-major order (O, N·H·W), launching
// gather_channels unless a kept copy already holds it: in a buffer of its own when both gradients of
// the convolution gather it, else in the shared scratch.
func (p *Plan) gatherChannels(dy *tensor.Dense) Ref {
	if dyg, ok := p.reuse.gathers[dy]; ok {
		return dyg
	}
	s := dy.Shape()
	n, o, pixels := s[0], s[1], s[2]*s[3]
	size := int64(n * o * pixels)
	var dyg Ref
	if p.reuse.gathersWanted[dy] > 1 && p.reuse.keep(4*size) {
		dyg = p.newBuffer(fmt.Sprintf("gathered %v", s), 4*size)
		p.reuse.gathers[dy] = dyg
	} else {
		dyg = p.scratchRef("gathered", size)
	}
	p.launch("gather_channels", int(size), ptr(p.at(dy)), ptr(dyg), i32(n), i32(o), i32(pixels))
	return dyg
}
