package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// DepthwiseConv2D convolves every input channel with its own filters: x (N, C, H, W) with a kernel
// w (C·M, 1, KH, KW) gives (N, C·M, OH, OW), where output channel c·M+m is input channel c
// cross-correlated with filter c·M+m. M is the depth multiplier. The kernel layout is PyTorch's grouped
// convolution (groups = C); the channel order is that of TensorFlow's depthwise_conv2d, whose (KH, KW, C, M)
// kernel transposes to this one. Dilation is 1. Its gradients are DepthwiseConv2DBackpropInput and
// DepthwiseConv2DBackpropFilter.
type DepthwiseConv2D struct {
	pure
	StrideH, StrideW int
	Pad              Padding
}

func (op DepthwiseConv2D) Arity() int    { return 2 }
func (op DepthwiseConv2D) Kind() string  { return "depthwise_conv2d" }
func (op DepthwiseConv2D) Type() hm.Type { return fnType(tensorOf(4), tensorOf(4), tensorOf(4)) }
func (op DepthwiseConv2D) String() string {
	return fmt.Sprintf("DepthwiseConv2D{s=%dx%d pad=%v}", op.StrideH, op.StrideW, op.Pad)
}
func (op DepthwiseConv2D) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op DepthwiseConv2D) Hashcode() uint32                 { return hashcodeOf(op) }
func (op DepthwiseConv2D) DiffWRT(int) []bool               { return []bool{true, true} }
func (op DepthwiseConv2D) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op DepthwiseConv2D) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op DepthwiseConv2D) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "DepthwiseConv2D")
	if err != nil {
		return nil, err
	}
	geo, err := depthwiseConvGeometry("DepthwiseConv2D", s[0], s[1], op.StrideH, op.StrideW, op.Pad)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{geo.n, geo.o, geo.oh, geo.ow}, nil
}

func (op DepthwiseConv2D) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	xs, ws := x.Shape(), w.Shape()
	dx, err := G.ApplyOp(DepthwiseConv2DBackpropInput{StrideH: op.StrideH, StrideW: op.StrideW, Pad: op.Pad, InC: xs[1], InH: xs[2], InW: xs[3]}, w, grad)
	if err != nil {
		return nil, fmt.Errorf("DepthwiseConv2D gradient wrt input: %w", err)
	}
	dw, err := G.ApplyOp(DepthwiseConv2DBackpropFilter{StrideH: op.StrideH, StrideW: op.StrideW, Pad: op.Pad, KH: ws[2], KW: ws[3]}, x, grad)
	if err != nil {
		return nil, fmt.Errorf("DepthwiseConv2D gradient wrt kernel: %w", err)
	}
	return G.Nodes{dx, dw}, nil
}

func (op DepthwiseConv2D) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	geo, err := depthwiseConvGeometry("DepthwiseConv2D", ins[0].Shape(), ins[1].Shape(), op.StrideH, op.StrideW, op.Pad)
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		dwConvForward(e, geo, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	} else {
		dwConvForward(e, geo, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
	}
	return nil
}

// depthwiseConvGeometry checks an input x (N, C, H, W) against a depthwise kernel w (C·M, 1, KH, KW) and
// describes the convolution with c = C input and o = C·M output channels.
func depthwiseConvGeometry(name string, x, w tensor.Shape, sh, sw int, pad Padding) (convGeometry, error) {
	if len(x) != 4 || len(w) != 4 {
		return convGeometry{}, fmt.Errorf("%s: %w: input %v and kernel %v must both be rank 4 (NCHW, (C·M, 1, KH, KW))", name, ErrShape, x, w)
	}
	if w[1] != 1 {
		return convGeometry{}, fmt.Errorf("%s: %w: kernel %v must have shape (C·M, 1, KH, KW)", name, ErrShape, w)
	}
	if x[1] <= 0 || w[0] <= 0 || w[0]%x[1] != 0 {
		return convGeometry{}, fmt.Errorf("%s: %w: kernel %v has %d filters, not a positive multiple of the input's %d channels", name, ErrShape, w, w[0], x[1])
	}
	geo, err := newConvGeometry(x[0], x[1], x[2], x[3], w[0], w[2], w[3], sh, sw, pad)
	if err != nil {
		return geo, fmt.Errorf("%s: %w", name, err)
	}
	return geo, nil
}

// DepthwiseConv2DBackpropInput computes the gradient of DepthwiseConv2D with respect to its input: from
// the kernel w (C·M, 1, KH, KW) and the output gradient dy (N, C·M, OH, OW) it gives dx (N, InC, InH, InW).
type DepthwiseConv2DBackpropInput struct {
	pure
	StrideH, StrideW int
	Pad              Padding
	InC, InH, InW    int
}

func (op DepthwiseConv2DBackpropInput) Arity() int   { return 2 }
func (op DepthwiseConv2DBackpropInput) Kind() string { return "depthwise_conv2d_backprop_input" }
func (op DepthwiseConv2DBackpropInput) Type() hm.Type {
	return fnType(tensorOf(4), tensorOf(4), tensorOf(4))
}
func (op DepthwiseConv2DBackpropInput) String() string {
	return fmt.Sprintf("DepthwiseConv2DBackpropInput{s=%dx%d pad=%v in=%dx%dx%d}", op.StrideH, op.StrideW, op.Pad, op.InC, op.InH, op.InW)
}
func (op DepthwiseConv2DBackpropInput) WriteHash(h hash.Hash) { hashOp(h, op) }
func (op DepthwiseConv2DBackpropInput) Hashcode() uint32      { return hashcodeOf(op) }
func (op DepthwiseConv2DBackpropInput) Do(v ...G.Value) (G.Value, error) {
	return doOp(op, nil, v)
}
func (op DepthwiseConv2DBackpropInput) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op DepthwiseConv2DBackpropInput) geometry(w, dy tensor.Shape) (convGeometry, error) {
	const name = "DepthwiseConv2DBackpropInput"
	if len(w) != 4 || len(dy) != 4 {
		return convGeometry{}, fmt.Errorf("%s: %w: kernel %v and gradient %v must be rank 4", name, ErrShape, w, dy)
	}
	geo, err := depthwiseConvGeometry(name, tensor.Shape{dy[0], op.InC, op.InH, op.InW}, w, op.StrideH, op.StrideW, op.Pad)
	if err != nil {
		return geo, err
	}
	if dy[1] != geo.o || dy[2] != geo.oh || dy[3] != geo.ow {
		return geo, fmt.Errorf("%s: %w: gradient %v, want (%d, %d, %d, %d)", name, ErrShape, dy, geo.n, geo.o, geo.oh, geo.ow)
	}
	return geo, nil
}

func (op DepthwiseConv2DBackpropInput) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "DepthwiseConv2DBackpropInput")
	if err != nil {
		return nil, err
	}
	geo, err := op.geometry(s[0], s[1])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{geo.n, geo.c, geo.h, geo.w}, nil
}

func (op DepthwiseConv2DBackpropInput) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	geo, err := op.geometry(ins[0].Shape(), ins[1].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		dwConvBackpropInput(e, geo, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	} else {
		dwConvBackpropInput(e, geo, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
	}
	return nil
}

// DepthwiseConv2DBackpropFilter computes the gradient of DepthwiseConv2D with respect to its kernel: from
// the input x (N, C, H, W) and the output gradient dy (N, C·M, OH, OW) it gives dw (C·M, 1, KH, KW).
type DepthwiseConv2DBackpropFilter struct {
	pure
	StrideH, StrideW int
	Pad              Padding
	KH, KW           int
}

func (op DepthwiseConv2DBackpropFilter) Arity() int   { return 2 }
func (op DepthwiseConv2DBackpropFilter) Kind() string { return "depthwise_conv2d_backprop_filter" }
func (op DepthwiseConv2DBackpropFilter) Type() hm.Type {
	return fnType(tensorOf(4), tensorOf(4), tensorOf(4))
}
func (op DepthwiseConv2DBackpropFilter) String() string {
	return fmt.Sprintf("DepthwiseConv2DBackpropFilter{s=%dx%d pad=%v k=%dx%d}", op.StrideH, op.StrideW, op.Pad, op.KH, op.KW)
}
func (op DepthwiseConv2DBackpropFilter) WriteHash(h hash.Hash) { hashOp(h, op) }
func (op DepthwiseConv2DBackpropFilter) Hashcode() uint32      { return hashcodeOf(op) }
func (op DepthwiseConv2DBackpropFilter) Do(v ...G.Value) (G.Value, error) {
	return doOp(op, nil, v)
}
func (op DepthwiseConv2DBackpropFilter) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op DepthwiseConv2DBackpropFilter) geometry(x, dy tensor.Shape) (convGeometry, error) {
	const name = "DepthwiseConv2DBackpropFilter"
	if len(x) != 4 || len(dy) != 4 {
		return convGeometry{}, fmt.Errorf("%s: %w: input %v and gradient %v must be rank 4", name, ErrShape, x, dy)
	}
	geo, err := depthwiseConvGeometry(name, x, tensor.Shape{dy[1], 1, op.KH, op.KW}, op.StrideH, op.StrideW, op.Pad)
	if err != nil {
		return geo, err
	}
	if dy[0] != geo.n || dy[2] != geo.oh || dy[3] != geo.ow {
		return geo, fmt.Errorf("%s: %w: gradient %v, want (%d, %d, %d, %d)", name, ErrShape, dy, geo.n, geo.o, geo.oh, geo.ow)
	}
	return geo, nil
}

func (op DepthwiseConv2DBackpropFilter) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "DepthwiseConv2DBackpropFilter")
	if err != nil {
		return nil, err
	}
	geo, err := op.geometry(s[0], s[1])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{geo.o, 1, geo.kh, geo.kw}, nil
}

func (op DepthwiseConv2DBackpropFilter) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	geo, err := op.geometry(ins[0].Shape(), ins[1].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		dwConvBackpropFilter(e, geo, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	} else {
		dwConvBackpropFilter(e, geo, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
	}
	return nil
}
