package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2D is a 2-D cross-correlation: x (N, C, H, W) with a kernel w (O, C, KH, KW) gives (N, O, OH, OW).
// Dilation is 1. Its gradients are Conv2DBackpropInput and Conv2DBackpropFilter.
type Conv2D struct {
	pure
	StrideH, StrideW int
	Pad              Padding
}

func (op Conv2D) Arity() int    { return 2 }
func (op Conv2D) Kind() string  { return "conv2d" }
func (op Conv2D) Type() hm.Type { return fnType(tensorOf(4), tensorOf(4), tensorOf(4)) }
func (op Conv2D) String() string {
	return fmt.Sprintf("Conv2D{s=%dx%d pad=%v}", op.StrideH, op.StrideW, op.Pad)
}
func (op Conv2D) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op Conv2D) Hashcode() uint32                 { return hashcodeOf(op) }
func (op Conv2D) DiffWRT(int) []bool               { return []bool{true, true} }
func (op Conv2D) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op Conv2D) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op Conv2D) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "Conv2D")
	if err != nil {
		return nil, err
	}
	geo, err := op.geometry(s[0], s[1])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{geo.n, geo.o, geo.oh, geo.ow}, nil
}

func (op Conv2D) geometry(x, w tensor.Shape) (convGeometry, error) {
	if len(x) != 4 || len(w) != 4 {
		return convGeometry{}, fmt.Errorf("Conv2D: %w: input %v and kernel %v must both be rank 4 (NCHW, OIHW)", ErrShape, x, w)
	}
	if x[1] != w[1] {
		return convGeometry{}, fmt.Errorf("Conv2D: %w: input has %d channels, kernel %v expects %d", ErrShape, x[1], w, w[1])
	}
	return newConvGeometry(x[0], x[1], x[2], x[3], w[0], w[2], w[3], op.StrideH, op.StrideW, op.Pad)
}

func (op Conv2D) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	xs, ws := x.Shape(), w.Shape()
	dx, err := G.ApplyOp(Conv2DBackpropInput{StrideH: op.StrideH, StrideW: op.StrideW, Pad: op.Pad, InH: xs[2], InW: xs[3]}, w, grad)
	if err != nil {
		return nil, fmt.Errorf("Conv2D gradient wrt input: %w", err)
	}
	dw, err := G.ApplyOp(Conv2DBackpropFilter{StrideH: op.StrideH, StrideW: op.StrideW, Pad: op.Pad, KH: ws[2], KW: ws[3]}, x, grad)
	if err != nil {
		return nil, fmt.Errorf("Conv2D gradient wrt kernel: %w", err)
	}
	return G.Nodes{dx, dw}, nil
}

func (op Conv2D) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	geo, err := op.geometry(ins[0].Shape(), ins[1].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		return convForward(e, geo, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	}
	return convForward(e, geo, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
}

// Conv2DBackpropInput computes the gradient of Conv2D with respect to its input: from the kernel
// w (O, C, KH, KW) and the output gradient dy (N, O, OH, OW) it gives dx (N, C, InH, InW).
type Conv2DBackpropInput struct {
	pure
	StrideH, StrideW int
	Pad              Padding
	InH, InW         int
}

func (op Conv2DBackpropInput) Arity() int    { return 2 }
func (op Conv2DBackpropInput) Kind() string  { return "conv2d_backprop_input" }
func (op Conv2DBackpropInput) Type() hm.Type { return fnType(tensorOf(4), tensorOf(4), tensorOf(4)) }
func (op Conv2DBackpropInput) String() string {
	return fmt.Sprintf("Conv2DBackpropInput{s=%dx%d pad=%v in=%dx%d}", op.StrideH, op.StrideW, op.Pad, op.InH, op.InW)
}
func (op Conv2DBackpropInput) WriteHash(h hash.Hash) { hashOp(h, op) }
func (op Conv2DBackpropInput) Hashcode() uint32      { return hashcodeOf(op) }
func (op Conv2DBackpropInput) Do(v ...G.Value) (G.Value, error) {
	return doOp(op, nil, v)
}
func (op Conv2DBackpropInput) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op Conv2DBackpropInput) geometry(w, dy tensor.Shape) (convGeometry, error) {
	if len(w) != 4 || len(dy) != 4 {
		return convGeometry{}, fmt.Errorf("Conv2DBackpropInput: %w: kernel %v and gradient %v must be rank 4", ErrShape, w, dy)
	}
	geo, err := newConvGeometry(dy[0], w[1], op.InH, op.InW, w[0], w[2], w[3], op.StrideH, op.StrideW, op.Pad)
	if err != nil {
		return geo, err
	}
	if dy[1] != geo.o || dy[2] != geo.oh || dy[3] != geo.ow {
		return geo, fmt.Errorf("Conv2DBackpropInput: %w: gradient %v, want (%d, %d, %d, %d)", ErrShape, dy, geo.n, geo.o, geo.oh, geo.ow)
	}
	return geo, nil
}

func (op Conv2DBackpropInput) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "Conv2DBackpropInput")
	if err != nil {
		return nil, err
	}
	geo, err := op.geometry(s[0], s[1])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{geo.n, geo.c, geo.h, geo.w}, nil
}

func (op Conv2DBackpropInput) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	geo, err := op.geometry(ins[0].Shape(), ins[1].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		return convBackpropInput(e, geo, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	}
	return convBackpropInput(e, geo, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
}

// Conv2DBackpropFilter computes the gradient of Conv2D with respect to its kernel: from the input
// x (N, C, H, W) and the output gradient dy (N, O, OH, OW) it gives dw (O, C, KH, KW).
type Conv2DBackpropFilter struct {
	pure
	StrideH, StrideW int
	Pad              Padding
	KH, KW           int
}

func (op Conv2DBackpropFilter) Arity() int    { return 2 }
func (op Conv2DBackpropFilter) Kind() string  { return "conv2d_backprop_filter" }
func (op Conv2DBackpropFilter) Type() hm.Type { return fnType(tensorOf(4), tensorOf(4), tensorOf(4)) }
func (op Conv2DBackpropFilter) String() string {
	return fmt.Sprintf("Conv2DBackpropFilter{s=%dx%d pad=%v k=%dx%d}", op.StrideH, op.StrideW, op.Pad, op.KH, op.KW)
}
func (op Conv2DBackpropFilter) WriteHash(h hash.Hash) { hashOp(h, op) }
func (op Conv2DBackpropFilter) Hashcode() uint32      { return hashcodeOf(op) }
func (op Conv2DBackpropFilter) Do(v ...G.Value) (G.Value, error) {
	return doOp(op, nil, v)
}
func (op Conv2DBackpropFilter) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op Conv2DBackpropFilter) geometry(x, dy tensor.Shape) (convGeometry, error) {
	if len(x) != 4 || len(dy) != 4 {
		return convGeometry{}, fmt.Errorf("Conv2DBackpropFilter: %w: input %v and gradient %v must be rank 4", ErrShape, x, dy)
	}
	geo, err := newConvGeometry(x[0], x[1], x[2], x[3], dy[1], op.KH, op.KW, op.StrideH, op.StrideW, op.Pad)
	if err != nil {
		return geo, err
	}
	if dy[0] != geo.n || dy[2] != geo.oh || dy[3] != geo.ow {
		return geo, fmt.Errorf("Conv2DBackpropFilter: %w: gradient %v, want (%d, %d, %d, %d)", ErrShape, dy, geo.n, geo.o, geo.oh, geo.ow)
	}
	return geo, nil
}

func (op Conv2DBackpropFilter) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "Conv2DBackpropFilter")
	if err != nil {
		return nil, err
	}
	geo, err := op.geometry(s[0], s[1])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{geo.o, geo.c, geo.kh, geo.kw}, nil
}

func (op Conv2DBackpropFilter) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	geo, err := op.geometry(ins[0].Shape(), ins[1].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		return convBackpropFilter(e, geo, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	}
	return convBackpropFilter(e, geo, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
}
