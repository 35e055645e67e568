package cuda

import (
	"errors"
	"fmt"
	"sort"

	"fovea/graph"

	"gorgonia.org/tensor"
)

// A Plan is a compiled graph.Program lowered to device work: a set of device buffers and the ordered
// launches (catalogue kernels and GEMMs) that compute one run of the program on them. It names no device:
// the CUDA engine (engine.go, build tag cuda) executes it on a GPU, and the Interpreter executes it on the
// CPU with the kernels' Go emulations, which is how the lowering is tested without a GPU.
type Plan struct {
	// Buffers are the device allocations, in bytes.
	Buffers []Buffer
	// Init runs once, after the buffers exist (it fills constants such as the ones vector).
	Init []Launch
	// Launches compute one run of the program.
	Launches []Launch
	// Inputs are the program's tensors that no step writes (batch, labels, parameters, constants): the
	// host copies a caller uploads. Outputs are the rest.
	Inputs []*tensor.Dense
	// TF32 lets a GPU's GEMMs round their inputs to TF32 (10-bit mantissa, FP32 accumulation) and run
	// on tensor cores, as PyTorch's cuDNN convolutions do by default. Off, every GEMM is IEEE FP32. The
	// interpreter always computes in FP32.
	TF32 bool
	// Graphs lets a GPU replay the launches as one CUDA graph from the second run on (the first runs
	// them one by one, the second captures and then replays them), so that a step costs one launch
	// instead of one per kernel. The interpreter ignores it.
	Graphs bool

	places  map[*tensor.Dense]Ref
	scratch map[string]int // scratch slot → buffer
	ones    Ref
	onesLen int64
	reuse   layoutReuse
}

// Buffer is one device allocation.
type Buffer struct {
	Name  string
	Bytes int64
}

// Ref is a place in device memory: a buffer and a byte offset into it. Buf is -1 for a null pointer.
type Ref struct {
	Buf int
	Off int64
}

// Null is the null device pointer.
var Null = Ref{Buf: -1}

// Arg is one launch argument: a pointer (Ref) or a scalar, as the kernel's catalogue entry says.
type Arg struct {
	Ref    Ref
	Int    int64
	Float  float32
	Double float64
	U64    uint64
}

// Launch is one kernel launch over N work items, or (Kernel "gemm") one matrix multiply.
type Launch struct {
	Kernel string
	N      int64
	Args   []Arg
	Gemm   *Gemm
	// Step names the program node the launch computes, for errors and profiles.
	Step string
}

// Gemm is a row-major single-precision C = α·op(A)·op(B) + β·C, with op(A) M×K and op(B) K×N.
type Gemm struct {
	TransA, TransB bool
	M, N, K        int
	Alpha, Beta    float32
	A, B, C        Ref
	LDA, LDB, LDC  int
}

// Place returns where a program tensor lives on the device.
func (p *Plan) Place(t *tensor.Dense) (Ref, bool) {
	r, ok := p.places[t]
	return r, ok
}

// Lower turns a compiled program into a device plan. Every step must be a fovea kernel on float32
// tensors with a device lowering; the error names the first that is not.
func Lower(prog *graph.Program) (*Plan, error) { return lower(prog, keptLayoutBytes) }

// lower is Lower with at most keepBytes of layout results kept for reuse (layoutReuse).
func lower(prog *graph.Program, keepBytes int64) (*Plan, error) {
	p := &Plan{places: map[*tensor.Dense]Ref{}, scratch: map[string]int{}}
	steps := prog.Steps()
	if err := p.placeTensors(steps); err != nil {
		return nil, err
	}
	p.reuse = findLayoutReuse(steps, keepBytes)
	for i := range steps {
		s := &steps[i]
		if s.Kernel == nil {
			return nil, fmt.Errorf("lower %s: %v is a Gorgonia op with no fovea kernel", s.Node.Name(), s.Op)
		}
		for _, t := range append([]*tensor.Dense{s.Out}, s.In...) {
			if dt := t.Dtype(); dt != tensor.Float32 && dt != tensor.Int32 && dt != tensor.Int64 {
				return nil, fmt.Errorf("lower %s (%s): %v tensors are not supported on the device (float32 only)", s.Node.Name(), s.Kernel.Kind(), dt)
			}
		}
		before := len(p.Launches)
		if err := p.lowerStep(s); err != nil {
			return nil, fmt.Errorf("lower %s (%s): %w", s.Node.Name(), s.Kernel.Kind(), err)
		}
		for j := before; j < len(p.Launches); j++ {
			p.Launches[j].Step = s.Node.Name()
		}
	}
	if p.onesLen > 0 {
		p.Buffers[p.ones.Buf].Bytes = 4 * p.onesLen
		p.Init = append(p.Init, Launch{Kernel: "fill", N: p.onesLen, Args: []Arg{{Ref: p.ones}, {Float: 1}}, Step: "ones"})
	}
	return p, nil
}

// placeTensors gives every tensor the steps read or write a place on the device. The CPU program shares
// host memory between tensors whose lifetimes do not overlap; overlapping host regions map to one device
// buffer at the same offsets, so the device plan shares exactly what the CPU program shares.
func (p *Plan) placeTensors(steps []graph.Step) error {
	type region struct {
		start, end uintptr
		t          *tensor.Dense
	}
	var regions []region
	seen := map[*tensor.Dense]bool{}
	written := map[*tensor.Dense]bool{}
	add := func(t *tensor.Dense) {
		if t == nil || seen[t] {
			return
		}
		seen[t] = true
		start := t.Uintptr()
		regions = append(regions, region{start, start + t.MemSize(), t})
	}
	for i := range steps {
		for _, t := range steps[i].In {
			add(t)
		}
		add(steps[i].Out)
		written[steps[i].Out] = true
	}
	for i := range steps {
		for _, t := range steps[i].In {
			if !written[t] && !contains(p.Inputs, t) {
				p.Inputs = append(p.Inputs, t)
			}
		}
	}
	sort.SliceStable(regions, func(i, j int) bool { return regions[i].start < regions[j].start })
	for i := 0; i < len(regions); {
		start, end := regions[i].start, regions[i].end
		j := i
		for j < len(regions) && regions[j].start < max(end, start+1) {
			end = max(end, regions[j].end)
			j++
		}
		buf := len(p.Buffers)
		p.Buffers = append(p.Buffers, Buffer{Name: fmt.Sprintf("tensor %v", regions[i].t.Shape()), Bytes: int64(end - start)})
		for _, r := range regions[i:j] {
			p.places[r.t] = Ref{Buf: buf, Off: int64(r.start - start)}
		}
		i = j
	}
	p.ones = Ref{Buf: len(p.Buffers)}
	p.Buffers = append(p.Buffers, Buffer{Name: "ones"})
	return nil
}

func contains(ts []*tensor.Dense, t *tensor.Dense) bool {
	for _, u := range ts {
		if u == t {
			return true
		}
	}
	return false
}

// at returns a tensor's place; placeTensors has placed every tensor a step touches.
func (p *Plan) at(t *tensor.Dense) Ref { return p.places[t] }

// scratchRef returns a scratch buffer of at least n float32s for the named slot. Launches run in order
// on one stream, so every step reuses the same slots.
func (p *Plan) scratchRef(slot string, n int64) Ref {
	buf, ok := p.scratch[slot]
	if !ok {
		buf = len(p.Buffers)
		p.Buffers = append(p.Buffers, Buffer{Name: "scratch " + slot})
		p.scratch[slot] = buf
	}
	p.Buffers[buf].Bytes = max(p.Buffers[buf].Bytes, 4*n)
	return Ref{Buf: buf}
}

// scratch64Ref returns a scratch buffer of at least n float64s for the named slot.
func (p *Plan) scratch64Ref(slot string, n int64) Ref { return p.scratchRef(slot, 2*n) }

// onesRef returns a vector of at least n ones.
func (p *Plan) onesRef(n int64) Ref {
	p.onesLen = max(p.onesLen, n)
	return p.ones
}

func (p *Plan) launch(kernel string, n int, args ...Arg) {
	p.Launches = append(p.Launches, Launch{Kernel: kernel, N: int64(n), Args: args})
}

func (p *Plan) gemm(g Gemm) {
	p.Launches = append(p.Launches, Launch{Kernel: "gemm", Gemm: &g})
}

func ptr(r Ref) Arg     { return Arg{Ref: r} }
func i32(v int) Arg     { return Arg{Int: int64(v)} }
func f32(v float64) Arg { return Arg{Float: float32(v)} }
func u64(v uint64) Arg  { return Arg{U64: v} }
func f64(v float64) Arg { return Arg{Double: v} }
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Epilogue flags of channel_affine and scatter_channels.
const (
	flagBias  = 1
	flagScale = 2
	flagReLU  = 4
)

// window is the geometry of a convolution or pooling window, in the catalogue's parameter order.
type window struct {
	n, c, h, w, kh, kw, sh, sw, pt, pl, oh, ow int
}

func (g window) args() []Arg {
	return []Arg{i32(g.n), i32(g.c), i32(g.h), i32(g.w), i32(g.kh), i32(g.kw), i32(g.sh), i32(g.sw), i32(g.pt), i32(g.pl), i32(g.oh), i32(g.ow)}
}

// k is the im2col matrix's row count, p the output pixels per image.
func (g window) k() int { return g.c * g.kh * g.kw }
func (g window) p() int { return g.oh * g.ow }

func (p *Plan) lowerStep(s *graph.Step) error {
	in, out := s.In, s.Out
	switch k := s.Kernel.(type) {
	case graph.Conv2D:
		return p.convForward(k, in, out, Null, Null, 0)
	case graph.ConvBias:
		flags := flagBias
		if k.ReLU {
			flags |= flagReLU
		}
		return p.convForward(k.Conv2D, in[:2], out, Null, p.at(in[2]), flags)
	case graph.ConvBN:
		return p.convBN(k, in, out)
	case graph.Conv2DBackpropInput:
		return p.convBackpropInput(k, in[0], in[1], out)
	case graph.Conv2DBackpropFilter:
		return p.convBackpropFilter(k, in[0], in[1], out)
	case graph.DepthwiseConv2D:
		g := convWindow(k.StrideH, k.StrideW, k.Pad, in[0].Shape(), in[1].Shape(), out.Shape())
		p.launch("depthwise_conv", out.Shape().TotalSize(), append([]Arg{ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(p.at(out))}, depthwiseArgs(g, in[1].Shape())...)...)
	case graph.DepthwiseConv2DBackpropInput:
		g := convWindow(k.StrideH, k.StrideW, k.Pad, out.Shape(), in[0].Shape(), in[1].Shape())
		p.launch("depthwise_conv_grad_input", out.Shape().TotalSize(), append([]Arg{ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(p.at(out))}, depthwiseArgs(g, in[0].Shape())...)...)
	case graph.DepthwiseConv2DBackpropFilter:
		p.depthwiseFilterGrad(k, in[0], in[1], out)
	case graph.DepthwiseMaxPool:
		s := in[0].Shape()
		p.launch("depthwise_maxpool", out.Shape().TotalSize(), ptr(p.at(in[0])), ptr(p.at(out)), i32(k.K), i32(s[2]*s[3]))
	case graph.DepthwiseMaxPoolGrad:
		s := in[0].Shape()
		p.launch("depthwise_maxpool_grad", out.Shape().TotalSize(), ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(p.at(out)), i32(k.K), i32(s[2]*s[3]))
	case graph.MaxPool2D:
		g := poolWindow(k.Window, in[0].Shape(), out.Shape())
		p.launch("maxpool", out.Shape().TotalSize(), append([]Arg{ptr(p.at(in[0])), ptr(p.at(out))}, g.args()...)...)
	case graph.MaxPool2DGrad:
		g := poolWindow(k.Window, in[0].Shape(), in[1].Shape())
		p.launch("maxpool_grad", out.Shape().TotalSize(), append([]Arg{ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(p.at(in[2])), ptr(p.at(out))}, g.args()...)...)
	case graph.MaxPoolReLUGrad:
		g := poolWindow(k.Window, in[0].Shape(), in[1].Shape())
		p.launch("maxpool_relu_grad", out.Shape().TotalSize(), append([]Arg{ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(p.at(in[2])), ptr(p.at(out))}, g.args()...)...)
	case graph.AvgPool2D:
		g := poolWindow(k.Window, in[0].Shape(), out.Shape())
		p.launch("avgpool", out.Shape().TotalSize(), append([]Arg{ptr(p.at(in[0])), ptr(p.at(out))}, g.args()...)...)
	case graph.AvgPool2DGrad:
		g := poolWindow(k.Window, out.Shape(), in[0].Shape())
		p.launch("avgpool_grad", out.Shape().TotalSize(), append([]Arg{ptr(p.at(in[0])), ptr(p.at(out))}, g.args()...)...)
	case graph.GlobalAvgPool:
		s := in[0].Shape()
		p.launch("global_avgpool", s[0]*s[1], ptr(p.at(in[0])), ptr(p.at(out)), i32(s[2]*s[3]))
	case graph.GlobalAvgPoolGrad:
		p.launch("global_avgpool_grad", out.Shape().TotalSize(), ptr(p.at(in[0])), ptr(p.at(out)), i32(k.H*k.W))
	case graph.BatchNormTrain:
		p.batchNormTrain(k.Eps, in[0], in[1], in[2], out)
	case graph.BatchNormTrainGrad:
		p.batchNormTrainGrad(k.Eps, in[0], in[1], in[2], out)
	case graph.BatchNormGammaGrad:
		p.batchNormGammaGrad(k.Eps, in[0], in[1], nil, nil, out)
	case graph.BatchStats:
		p.batchStats(in[0], out)
	case graph.BatchNormInfer:
		p.batchNormInfer(k.Eps, in[0], in[1], in[2], in[3], in[4], out)
	case graph.BatchNormInferGrad:
		p.batchNormInferGrad(k.Eps, in[0], in[1], in[2], out)
	case graph.BatchNormInferGammaGrad:
		p.batchNormGammaGrad(k.Eps, in[0], in[3], in[1], in[2], out)
	case graph.Dense:
		return p.dense(in, out, false)
	case graph.DenseReLU:
		return p.dense(in, out, true)
	case graph.MatMul:
		return p.matmul(k, in[0], in[1], out)
	case graph.BiasAdd:
		s := in[0].Shape()
		inner := 1
		for _, d := range s[min(2, len(s)):] {
			inner *= d
		}
		p.launch("channel_affine", s.TotalSize(), ptr(p.at(in[0])), ptr(Null), ptr(p.at(in[1])), ptr(p.at(out)), i32(in[1].Shape().TotalSize()), i32(inner), i32(flagBias))
	case graph.BiasGrad:
		return p.biasGrad(in[0], out)
	case graph.ReLU:
		p.launch("relu", out.Shape().TotalSize(), ptr(p.at(in[0])), ptr(p.at(out)))
	case graph.ReLUGrad:
		p.launch("relu_grad", out.Shape().TotalSize(), ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(p.at(out)))
	case graph.Add:
		p.launch("add", out.Shape().TotalSize(), ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(p.at(out)))
	case graph.Reshape:
		p.launch("copy", out.Shape().TotalSize(), ptr(p.at(in[0])), ptr(p.at(out)))
	case graph.Concat:
		return p.concat(k.Axis, in, out)
	case graph.ConcatGrad:
		outer, inner := graph.SplitAt(in[0].Shape(), k.Axis)
		total := in[0].Shape()[k.Axis] * inner
		src := p.at(in[0])
		src.Off += int64(4 * k.Offset * inner)
		if k.Size*inner == 0 {
			return nil
		}
		p.launch("copy_blocks", outer*k.Size*inner, ptr(src), ptr(p.at(out)), i32(k.Size*inner), i32(total), i32(k.Size*inner))
	case graph.Dropout:
		p.dropout(k.Rate, k.Seed, in, out)
	case graph.DropoutGrad:
		p.dropout(k.Rate, k.Seed, in, out)
	case graph.SoftmaxCrossEntropy:
		n, classes := in[0].Shape()[0], in[0].Shape()[1]
		rows := p.scratchRef("rows", int64(n))
		p.launch("softmax_xent_rows", n, ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(rows), i32(classes), f32(k.Smoothing))
		p.sumRows(rows, n, 1/float32(n), p.at(out))
	case graph.SoftmaxCrossEntropyGrad:
		n, classes := in[0].Shape()[0], in[0].Shape()[1]
		p.launch("softmax_xent_grad", n*classes, ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(p.at(in[2])), ptr(p.at(out)), i32(classes), f32(k.Smoothing), f32(1/float64(n)))
	case graph.CountCorrect:
		n, classes := in[0].Shape()[0], in[0].Shape()[1]
		rows := p.scratchRef("rows", int64(n))
		p.launch("correct_rows", n, ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(rows), i32(classes))
		p.sumRows(rows, n, 1, p.at(out))
	default:
		return fmt.Errorf("no device lowering for %T yet", s.Kernel)
	}
	return nil
}

// convWindow is a convolution's geometry from its input (N, C, H, W), kernel (O, C, KH, KW) and output
// (N, O, OH, OW) shapes.
func convWindow(sh, sw int, pad graph.Padding, x, w, y tensor.Shape) window {
	return window{n: x[0], c: x[1], h: x[2], w: x[3], kh: w[2], kw: w[3], sh: sh, sw: sw, pt: pad.Top, pl: pad.Left, oh: y[2], ow: y[3]}
}

// poolWindow is a pooling window's geometry from its input and output shapes.
func poolWindow(win graph.Window, x, y tensor.Shape) window {
	return window{n: x[0], c: x[1], h: x[2], w: x[3], kh: win.KH, kw: win.KW, sh: win.StrideH, sw: win.StrideW, pt: win.Pad.Top, pl: win.Pad.Left, oh: y[2], ow: y[3]}
}

// convForward lowers y = conv(x, w) (then the epilogue) to im2col, one GEMM over the whole batch, and a
// scatter back to NCHW that applies the scale, bias and ReLU on the way (as flags says).
func (p *Plan) convForward(op graph.Conv2D, in []*tensor.Dense, out *tensor.Dense, scale, bias Ref, flags int) error {
	x, w := in[0], in[1]
	g := convWindow(op.StrideH, op.StrideW, op.Pad, x.Shape(), w.Shape(), out.Shape())
	o, k, cols := w.Shape()[0], g.k(), g.n*g.p()
	col := p.im2col(x, g)
	tmp := p.scratchRef("gemm", int64(o*cols))
	p.gemm(Gemm{M: o, N: cols, K: k, Alpha: 1, A: p.at(w), LDA: k, B: col, LDB: cols, C: tmp, LDC: cols})
	p.launch("scatter_channels", out.Shape().TotalSize(), ptr(tmp), ptr(scale), ptr(bias), ptr(p.at(out)), i32(g.n), i32(o), i32(g.p()), i32(flags))
	return nil
}

// convBN lowers the fused Conv2D → inference-mode BatchNorm (→ ReLU), inputs (x, w, γ, β, mean,
// variance): the statistics fold into a per-channel scale and shift, which the convolution's scatter
// applies as its epilogue.
func (p *Plan) convBN(k graph.ConvBN, in []*tensor.Dense, out *tensor.Dense) error {
	scale, shift := p.foldBatchNorm(k.Eps, in[2], in[3], in[4], in[5])
	flags := flagScale | flagBias
	if k.ReLU {
		flags |= flagReLU
	}
	return p.convForward(k.Conv2D, in[:2], out, scale, shift, flags)
}

// convBackpropInput lowers dx = col2im(wᵀ · dy).
func (p *Plan) convBackpropInput(op graph.Conv2DBackpropInput, w, dy, dx *tensor.Dense) error {
	g := convWindow(op.StrideH, op.StrideW, op.Pad, dx.Shape(), w.Shape(), dy.Shape())
	o, k, cols := w.Shape()[0], g.k(), g.n*g.p()
	dyg := p.gatherChannels(dy)
	dcol := p.scratchRef("gemm", int64(k*cols))
	p.gemm(Gemm{TransA: true, M: k, N: cols, K: o, Alpha: 1, A: p.at(w), LDA: k, B: dyg, LDB: cols, C: dcol, LDC: cols})
	p.launch("col2im", dx.Shape().TotalSize(), append([]Arg{ptr(dcol), ptr(p.at(dx))}, g.args()...)...)
	return nil
}

// convBackpropFilter lowers dw = dy · im2col(x)ᵀ, summed over the batch by the GEMM itself.
func (p *Plan) convBackpropFilter(op graph.Conv2DBackpropFilter, x, dy, dw *tensor.Dense) error {
	g := convWindow(op.StrideH, op.StrideW, op.Pad, x.Shape(), dw.Shape(), dy.Shape())
	o, k, cols := dw.Shape()[0], g.k(), g.n*g.p()
	col := p.im2col(x, g)
	dyg := p.gatherChannels(dy)
	p.gemm(Gemm{TransB: true, M: o, N: k, K: cols, Alpha: 1, A: dyg, LDA: cols, B: col, LDB: cols, C: p.at(dw), LDC: k})
	return nil
}

// depthwiseArgs is the depthwise kernels' geometry block (C the input channels) and depth multiplier M,
// from the kernel's shape (C·M, 1, KH, KW).
func depthwiseArgs(g window, w tensor.Shape) []Arg {
	return append(g.args(), i32(w[0]/g.c))
}

// depthwiseFilterGrad lowers DepthwiseConv2DBackpropFilter: per (image, weight) float64 sums over the
// output pixels (depthwise_conv_grad_filter), summed over the batch in float64 (channel_sums, count 1)
// and rounded once (narrow). The CPU sums in float32, so the two agree to float32 rounding.
func (p *Plan) depthwiseFilterGrad(op graph.DepthwiseConv2DBackpropFilter, x, dy, dw *tensor.Dense) {
	g := convWindow(op.StrideH, op.StrideW, op.Pad, x.Shape(), dw.Shape(), dy.Shape())
	weights := dw.Shape().TotalSize()
	partial := p.scratch64Ref("depthwise partial", int64(g.n*weights))
	sums := p.scratch64Ref("depthwise sums", int64(weights))
	p.launch("depthwise_conv_grad_filter", g.n*weights, append([]Arg{ptr(p.at(x)), ptr(p.at(dy)), ptr(partial)}, depthwiseArgs(g, dw.Shape())...)...)
	p.launch("channel_sums", weights, ptr(partial), ptr(sums), i32(g.n), i32(weights), i32(1))
	p.launch("narrow", weights, ptr(sums), ptr(p.at(dw)))
}

// concat lowers Concat to one copy_blocks launch per input, into the input's range of every output row.
func (p *Plan) concat(axis int, in []*tensor.Dense, out *tensor.Dense) error {
	if axis < 0 || axis >= out.Shape().Dims() {
		return fmt.Errorf("concat axis %d out of range for %v", axis, out.Shape())
	}
	outer, inner := graph.SplitAt(out.Shape(), axis)
	total := out.Shape()[axis] * inner
	offset := 0
	for _, x := range in {
		size := x.Shape()[axis] * inner
		if size == 0 {
			continue
		}
		dst := p.at(out)
		dst.Off += int64(4 * offset)
		p.launch("copy_blocks", outer*size, ptr(p.at(x)), ptr(dst), i32(size), i32(size), i32(total))
		offset += size
	}
	return nil
}

// dense lowers y = x·w + b (then ReLU) to a GEMM and a bias epilogue in place.
func (p *Plan) dense(in []*tensor.Dense, out *tensor.Dense, relu bool) error {
	x, w, b := in[0], in[1], in[2]
	n, i, o := x.Shape()[0], x.Shape()[1], w.Shape()[1]
	p.gemm(Gemm{M: n, N: o, K: i, Alpha: 1, A: p.at(x), LDA: i, B: p.at(w), LDB: o, C: p.at(out), LDC: o})
	flags := flagBias
	if relu {
		flags |= flagReLU
	}
	p.launch("channel_affine", n*o, ptr(p.at(out)), ptr(Null), ptr(p.at(b)), ptr(p.at(out)), i32(o), i32(1), i32(flags))
	return nil
}

func (p *Plan) matmul(op graph.MatMul, a, b, c *tensor.Dense) error {
	as, bs := a.Shape(), b.Shape()
	m, k := as[0], as[1]
	if op.TransA {
		m, k = k, m
	}
	n := bs[1]
	if op.TransB {
		n = bs[0]
	}
	p.gemm(Gemm{TransA: op.TransA, TransB: op.TransB, M: m, N: n, K: k, Alpha: 1, A: p.at(a), LDA: as[1], B: p.at(b), LDB: bs[1], C: p.at(c), LDC: n})
	return nil
}

// biasGrad sums dy over every axis but the channel axis (1) with GEMMs against a ones vector: for
// (N, C, ...) first over the trailing pixels, then over the batch.
func (p *Plan) biasGrad(dy, db *tensor.Dense) error {
	s := dy.Shape()
	n, c := s[0], s[1]
	inner := 1
	for _, d := range s[2:] {
		inner *= d
	}
	src := p.at(dy)
	if inner > 1 {
		perImage := p.scratchRef("bias", int64(n*c))
		p.gemm(Gemm{M: n * c, N: 1, K: inner, Alpha: 1, A: src, LDA: inner, B: p.onesRef(int64(inner)), LDB: 1, C: perImage, LDC: 1})
		src = perImage
	}
	p.gemm(Gemm{M: 1, N: c, K: n, Alpha: 1, A: p.onesRef(int64(n)), LDA: n, B: src, LDB: c, C: p.at(db), LDC: c})
	return nil
}

// Batch normalisation. graph's kernels compute per-channel statistics and sums in float64 and round
// only their results; the lowering does the same, reducing each channel in two float64 levels
// (plane_sums: one item per (image, channel) plane; channel_sums: one item per channel) into float64
// scratch, so the device's results match the CPU's to float32 rounding. The slot "bn stats" holds up to
// four per-channel float64 vectors, "bn affine" the float32 scale and shift that channel_affine applies.

// channelDims splits a batch-normalised shape (N, C, ...) into N, C and the product of the rest.
func channelDims(s tensor.Shape) (n, c, inner int) {
	n, c = s[0], s[1]
	return n, c, s.TotalSize() / max(n*c, 1)
}

// bnStats returns the k-th per-channel float64 vector of the "bn stats" scratch (8-byte aligned).
func (p *Plan) bnStats(c, k int) Ref {
	r := p.scratch64Ref("bn stats", int64(4*c))
	r.Off = int64(8 * k * c)
	return r
}

// channelReduce writes, per channel of x (N, C, inner), the plane_sums term (x; or with mean, (x−mean)²,
// or w·(x−mean)) summed over the channel and divided by count, as float64, to out.
func (p *Plan) channelReduce(x, w, mean Ref, n, c, inner, count int, out Ref) {
	planes := p.scratch64Ref("bn planes", int64(n*c))
	p.launch("plane_sums", n*c, ptr(x), ptr(w), ptr(mean), ptr(planes), i32(c), i32(inner))
	p.launch("channel_sums", c, ptr(planes), ptr(out), i32(n), i32(c), i32(count))
}

// batchMoments writes the batch mean and biased variance of each channel of x (float64) to bn stats 0
// and 1 and returns them.
func (p *Plan) batchMoments(x *tensor.Dense) (mean, variance Ref) {
	n, c, inner := channelDims(x.Shape())
	mean, variance = p.bnStats(c, 0), p.bnStats(c, 1)
	p.channelReduce(p.at(x), Null, Null, n, c, inner, n*inner, mean)
	p.channelReduce(p.at(x), Null, mean, n, c, inner, n*inner, variance)
	return mean, variance
}

// widenStats copies given float32 statistics (mean may be nil) into bn stats 0 and 1 as float64.
func (p *Plan) widenStats(mean, variance *tensor.Dense) (m, v Ref) {
	c := variance.Shape().TotalSize()
	m, v = Null, p.bnStats(c, 1)
	if mean != nil {
		m = p.bnStats(c, 0)
		p.launch("widen", c, ptr(p.at(mean)), ptr(m))
	}
	p.launch("widen", c, ptr(p.at(variance)), ptr(v))
	return m, v
}

// affineScratch returns the float32 per-channel scale and shift vectors.
func (p *Plan) affineScratch(c int) (scale, shift Ref) {
	r := p.scratchRef("bn affine", int64(2*c))
	return r, Ref{Buf: r.Buf, Off: int64(4 * c)}
}

// foldBatchNorm folds inference-mode batch normalisation with float32 statistics (mean may be nil,
// and beta) into per-channel scale and shift.
func (p *Plan) foldBatchNorm(eps float64, gamma, beta, mean, variance *tensor.Dense) (scale, shift Ref) {
	c := gamma.Shape().TotalSize()
	m, v := p.widenStats(mean, variance)
	scale, shift = p.affineScratch(c)
	b := Null
	if beta != nil {
		b = p.at(beta)
	}
	p.launch("batchnorm_fold", c, ptr(p.at(gamma)), ptr(b), ptr(m), ptr(v), ptr(scale), ptr(shift), f64(eps))
	return scale, shift
}

// applyAffine launches y = x·scale + shift per channel of x (N, C, ...).
func (p *Plan) applyAffine(x, y *tensor.Dense, scale, shift Ref) {
	_, c, inner := channelDims(x.Shape())
	p.launch("channel_affine", x.Shape().TotalSize(), ptr(p.at(x)), ptr(scale), ptr(shift), ptr(p.at(y)), i32(c), i32(inner), i32(flagScale|flagBias))
}

// batchNormTrain lowers y = γ·(x−μ)/√(σ²+ε) + β with the batch's statistics.
func (p *Plan) batchNormTrain(eps float64, x, gamma, beta, y *tensor.Dense) {
	_, c, _ := channelDims(x.Shape())
	mean, variance := p.batchMoments(x)
	scale, shift := p.affineScratch(c)
	p.launch("batchnorm_fold", c, ptr(p.at(gamma)), ptr(p.at(beta)), ptr(mean), ptr(variance), ptr(scale), ptr(shift), f64(eps))
	p.applyAffine(x, y, scale, shift)
}

// batchNormTrainGrad lowers BatchNormTrain's input gradient from (x, γ, dy).
func (p *Plan) batchNormTrainGrad(eps float64, x, gamma, dy, dx *tensor.Dense) {
	n, c, inner := channelDims(x.Shape())
	mean, variance := p.batchMoments(x)
	meanDy, meanDyXc := p.bnStats(c, 2), p.bnStats(c, 3)
	p.channelReduce(p.at(dy), Null, Null, n, c, inner, n*inner, meanDy)
	p.channelReduce(p.at(x), p.at(dy), mean, n, c, inner, n*inner, meanDyXc)
	p.launch("batchnorm_train_grad", x.Shape().TotalSize(), ptr(p.at(x)), ptr(p.at(dy)), ptr(p.at(gamma)), ptr(mean), ptr(variance),
		ptr(meanDy), ptr(meanDyXc), ptr(p.at(dx)), i32(c), i32(inner), f64(eps))
}

// batchNormGammaGrad lowers Σ dy·(x−μ)/√(σ²+ε) per channel: with the batch's statistics when mean
// and variance are nil (BatchNormGammaGrad), else with the given ones (BatchNormInferGammaGrad).
func (p *Plan) batchNormGammaGrad(eps float64, x, dy, mean, variance, dgamma *tensor.Dense) {
	n, c, inner := channelDims(x.Shape())
	var m, v Ref
	if mean == nil {
		m, v = p.batchMoments(x)
	} else {
		m, v = p.widenStats(mean, variance)
	}
	sum := p.bnStats(c, 2)
	p.channelReduce(p.at(x), p.at(dy), m, n, c, inner, 1, sum)
	p.launch("batchnorm_gamma_grad", c, ptr(sum), ptr(v), ptr(p.at(dgamma)), f64(eps))
}

// batchStats lowers BatchStats: the (2, C) output holds the means, then the biased variances.
func (p *Plan) batchStats(x, out *tensor.Dense) {
	_, c, _ := channelDims(x.Shape())
	mean, variance := p.batchMoments(x)
	o := p.at(out)
	p.launch("narrow", c, ptr(mean), ptr(o))
	p.launch("narrow", c, ptr(variance), ptr(Ref{Buf: o.Buf, Off: o.Off + int64(4*c)}))
}

// batchNormInfer lowers y = γ·(x−m)/√(v+ε) + β with given statistics.
func (p *Plan) batchNormInfer(eps float64, x, gamma, beta, mean, variance, y *tensor.Dense) {
	scale, shift := p.foldBatchNorm(eps, gamma, beta, mean, variance)
	p.applyAffine(x, y, scale, shift)
}

// batchNormInferGrad lowers dx = dy·γ/√(v+ε) (+ 0, as the CPU's affine map adds a zero shift).
func (p *Plan) batchNormInferGrad(eps float64, gamma, variance, dy, dx *tensor.Dense) {
	scale, shift := p.foldBatchNorm(eps, gamma, nil, nil, variance)
	p.applyAffine(dy, dx, scale, shift)
}

// sumRows writes scale·Σ rows[0..n) to out[0].
func (p *Plan) sumRows(rows Ref, n int, scale float32, out Ref) {
	p.gemm(Gemm{M: 1, N: 1, K: n, Alpha: scale, A: p.onesRef(int64(n)), LDA: n, B: rows, LDB: 1, C: out, LDC: 1})
}

// dropout lowers Dropout and its gradient (the same mask applied to dy): inputs (x or dy, step).
func (p *Plan) dropout(rate float64, seed uint64, in []*tensor.Dense, out *tensor.Dense) {
	threshold := uint32(rate * (1 << 24))
	scale := float32(1 / (1 - rate))
	p.launch("dropout", out.Shape().TotalSize(), ptr(p.at(in[0])), ptr(p.at(in[1])), ptr(p.at(out)), i32(int(threshold)), Arg{Float: scale}, u64(seed))
}

// Executor runs a plan: the Interpreter on the CPU, the Engine (build tag cuda) on a GPU.
type Executor interface {
	Upload(t *tensor.Dense) error
	Download(t *tensor.Dense) error
	Run() error
	RunLaunch(i int) error
	Buffer(i int) ([]byte, error)
	SetBuffer(i int, b []byte) error
	// SetArgs changes arguments first, first+1, … of launch i for the following runs.
	SetArgs(i, first int, args []Arg) error
	Close()
}

// ErrNoCUDA is returned for the cuda device by builds without the gpu tag.
var ErrNoCUDA = errors.New("this build has no CUDA support: build with -tags gpu on a machine with the CUDA headers " +
	"(scripts/gpu/setup.sh installs them; scripts/gpu/build.sh cross-builds for a GPU machine)")

// NewExecutor returns an executor for the named device: "cuda" (GPU 0; builds with the gpu tag only),
// "emulate" (the CPU Interpreter with the kernels' Go emulations, for tests) or "hostcuda" (the
// Interpreter with fovea.cu's kernels compiled for the host; builds with the hostcuda tag only, for
// tests).
func NewExecutor(device string, p *Plan) (Executor, error) {
	switch device {
	case "cuda", "gpu":
		return newGPU(p)
	case "emulate":
		return NewInterpreter(p)
	case "hostcuda":
		return newHost(p)
	}
	return nil, fmt.Errorf("unknown device %q (want cuda or emulate)", device)
}

// AddAdam appends an Adam/Nadam update of parameter p from its gradient g (both program tensors) with
// slots m and v (host tensors of p's size, given places of their own), and returns the launch's index.
// The update's per-step scalars start at zero: set them with Executor.SetArgs before every run (see
// AdamScalars).
func (p *Plan) AddAdam(param, grad, m, v *tensor.Dense) (int, error) {
	pr, ok1 := p.places[param]
	gr, ok2 := p.places[grad]
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("adam: parameter %v or its gradient is not part of the plan", param.Shape())
	}
	n := param.Shape().TotalSize()
	if grad.Shape().TotalSize() != n || m.Shape().TotalSize() != n || v.Shape().TotalSize() != n {
		return 0, fmt.Errorf("adam: parameter %v, gradient %v and slots %v, %v differ in size", param.Shape(), grad.Shape(), m.Shape(), v.Shape())
	}
	for _, s := range []*tensor.Dense{m, v} {
		if _, ok := p.places[s]; ok {
			return 0, fmt.Errorf("adam: slot %v is already part of the plan", s.Shape())
		}
		p.places[s] = Ref{Buf: len(p.Buffers)}
		p.Buffers = append(p.Buffers, Buffer{Name: fmt.Sprintf("optimizer slot %v", s.Shape()), Bytes: int64(4 * n)})
	}
	args := []Arg{ptr(pr), ptr(gr), ptr(p.places[m]), ptr(p.places[v]), {}, {}, {}, {}, {}, {}, {}}
	p.Launches = append(p.Launches, Launch{Kernel: "adam", N: int64(n), Args: args, Step: "optimizer"})
	return len(p.Launches) - 1, nil
}

// AddSGD appends an SGD update of parameter p from its gradient g (both program tensors) with velocity
// slot v (a host tensor of p's size, given a place of its own; nil without momentum) and Nesterov
// momentum as nesterov says, and returns the launch's index. The update's per-step scalars start at
// zero: set them with Executor.SetArgs before every run (see SGDScalars).
func (p *Plan) AddSGD(param, grad, velocity *tensor.Dense, nesterov bool) (int, error) {
	pr, ok1 := p.places[param]
	gr, ok2 := p.places[grad]
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("sgd: parameter %v or its gradient is not part of the plan", param.Shape())
	}
	n := param.Shape().TotalSize()
	if grad.Shape().TotalSize() != n || (velocity != nil && velocity.Shape().TotalSize() != n) {
		return 0, fmt.Errorf("sgd: parameter %v, gradient %v and velocity differ in size", param.Shape(), grad.Shape())
	}
	vr := Null
	if velocity != nil {
		if _, ok := p.places[velocity]; ok {
			return 0, fmt.Errorf("sgd: velocity %v is already part of the plan", velocity.Shape())
		}
		vr = Ref{Buf: len(p.Buffers)}
		p.places[velocity] = vr
		p.Buffers = append(p.Buffers, Buffer{Name: fmt.Sprintf("optimizer slot %v", velocity.Shape()), Bytes: int64(4 * n)})
	}
	args := []Arg{ptr(pr), ptr(gr), ptr(vr), {}, {}, i32(boolInt(nesterov))}
	p.Launches = append(p.Launches, Launch{Kernel: "sgd", N: int64(n), Args: args, Step: "optimizer"})
	return len(p.Launches) - 1, nil
}

// AddScale appends param *= factor (the scale kernel) after the launches so far, for decoupled weight
// decay after an optimizer update, and returns the launch's index. The factor starts at zero: set it
// with Executor.SetArgs(i, ScaleFactorArg, …) before every run.
func (p *Plan) AddScale(param *tensor.Dense) (int, error) {
	pr, ok := p.places[param]
	if !ok {
		return 0, fmt.Errorf("scale: parameter %v is not part of the plan", param.Shape())
	}
	if param.Dtype() != tensor.Float32 {
		return 0, fmt.Errorf("scale: parameter %v must be float32", param.Dtype())
	}
	p.Launches = append(p.Launches, Launch{Kernel: "scale", N: int64(param.Shape().TotalSize()), Args: []Arg{ptr(pr), {}}, Step: "optimizer"})
	return len(p.Launches) - 1, nil
}

// ScaleFactorArg is the index of the scale kernel's factor among its parameters (for SetArgs).
const ScaleFactorArg = 1

// AddMovingAverage appends param = momentum·param + (1−momentum)·value[offset : offset+size(param)] (the
// moving_average kernel), run after the program's launches, and returns the launch's index. value must
// be a tensor of the plan (a program output such as BatchStats'); param gets a place of its own unless
// the program already reads it, and the caller uploads it before the first run and downloads it to see
// the updates.
func (p *Plan) AddMovingAverage(param, value *tensor.Dense, offset int, momentum float32) (int, error) {
	vr, ok := p.places[value]
	if !ok {
		return 0, fmt.Errorf("moving average: value %v is not part of the plan", value.Shape())
	}
	n := param.Shape().TotalSize()
	if param.Dtype() != tensor.Float32 || value.Dtype() != tensor.Float32 {
		return 0, fmt.Errorf("moving average: parameter %v and value %v must be float32", param.Dtype(), value.Dtype())
	}
	if offset < 0 || offset+n > value.Shape().TotalSize() {
		return 0, fmt.Errorf("moving average: %d values at offset %d do not fit in value %v", n, offset, value.Shape())
	}
	pr, ok := p.places[param]
	if !ok {
		pr = Ref{Buf: len(p.Buffers)}
		p.places[param] = pr
		p.Buffers = append(p.Buffers, Buffer{Name: fmt.Sprintf("moving statistic %v", param.Shape()), Bytes: int64(4 * n)})
	}
	vr.Off += int64(4 * offset)
	args := []Arg{ptr(pr), ptr(vr), {Float: momentum}}
	p.Launches = append(p.Launches, Launch{Kernel: "moving_average", N: int64(n), Args: args, Step: "moving statistics"})
	return len(p.Launches) - 1, nil
}

// AdamScalars are the per-step constants of the adam kernel (its parameters after the four pointers).
type AdamScalars struct {
	OneMinusB1, OneMinusB2, CM, CG, CV, LR, Eps float32
}

// Args appends the scalars to dst as launch arguments and returns the index of the adam kernel's
// parameter the first one sets (the rest follow it).
func (s AdamScalars) Args(dst []Arg) (first int, args []Arg) {
	return 4, append(dst, f32a(s.OneMinusB1), f32a(s.OneMinusB2), f32a(s.CM), f32a(s.CG), f32a(s.CV), f32a(s.LR), f32a(s.Eps))
}

func f32a(v float32) Arg { return Arg{Float: v} }

// SGDScalars are the per-step constants of the sgd kernel: float32(momentum) and the step's learning
// rate.
type SGDScalars struct {
	Momentum, LR float32
}

// Args appends the scalars to dst as launch arguments and returns the index of the sgd kernel's
// parameter the first one sets.
func (s SGDScalars) Args(dst []Arg) (first int, args []Arg) {
	return 3, append(dst, f32a(s.Momentum), f32a(s.LR))
}
