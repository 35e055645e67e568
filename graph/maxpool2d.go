package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MaxPool2D takes the maximum of each window of an NCHW input. Its gradient, MaxPool2DGrad, routes the
// output gradient to the element each window picked.
type MaxPool2D struct {
	pure
	Window
}

func (op MaxPool2D) Arity() int                       { return 1 }
func (op MaxPool2D) Kind() string                     { return "maxpool2d" }
func (op MaxPool2D) Type() hm.Type                    { return fnType(tensorOf(4), tensorOf(4)) }
func (op MaxPool2D) String() string                   { return fmt.Sprintf("MaxPool2D{%v}", op.Window) }
func (op MaxPool2D) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op MaxPool2D) Hashcode() uint32                 { return hashcodeOf(op) }
func (op MaxPool2D) DiffWRT(int) []bool               { return []bool{true} }
func (op MaxPool2D) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op MaxPool2D) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op MaxPool2D) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "MaxPool2D")
	if err != nil {
		return nil, err
	}
	g, err := op.geometry("MaxPool2D", s[0])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.n, g.c, g.oh, g.ow}, nil
}

func (op MaxPool2D) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(MaxPool2DGrad{Window: op.Window}, inputs[0], output, grad)
	if err != nil {
		return nil, fmt.Errorf("MaxPool2D gradient: %w", err)
	}
	return G.Nodes{dx}, nil
}

func (op MaxPool2D) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	g, err := op.geometry("MaxPool2D", ins[0].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		maxPool(e, g, floats[float32](ins[0]), floats[float32](out))
	} else {
		maxPool(e, g, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

// MaxPool2DGrad is the gradient of MaxPool2D: from the pooled input x, the pooled output y and the output
// gradient dy it gives dx, routing each gradient to the first element of its window equal to the window's
// maximum (as TensorFlow's MaxPoolGrad, which also takes the original input and output).
type MaxPool2DGrad struct {
	pure
	Window
}

func (op MaxPool2DGrad) Arity() int   { return 3 }
func (op MaxPool2DGrad) Kind() string { return "maxpool2d_grad" }
func (op MaxPool2DGrad) Type() hm.Type {
	return fnType(tensorOf(4), tensorOf(4), tensorOf(4), tensorOf(4))
}
func (op MaxPool2DGrad) String() string                   { return fmt.Sprintf("MaxPool2DGrad{%v}", op.Window) }
func (op MaxPool2DGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op MaxPool2DGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op MaxPool2DGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op MaxPool2DGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op MaxPool2DGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 3, "MaxPool2DGrad")
	if err != nil {
		return nil, err
	}
	g, err := op.geometry("MaxPool2DGrad", s[0])
	if err != nil {
		return nil, err
	}
	pooled := tensor.Shape{g.n, g.c, g.oh, g.ow}
	if !s[1].Eq(pooled) || !s[2].Eq(pooled) {
		return nil, fmt.Errorf("MaxPool2DGrad: %w: output %v and gradient %v, want %v", ErrShape, s[1], s[2], pooled)
	}
	return s[0].Clone(), nil
}

func (op MaxPool2DGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	g, err := op.geometry("MaxPool2DGrad", ins[0].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		maxPoolGrad(e, g, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](ins[2]), floats[float32](out), false)
	} else {
		maxPoolGrad(e, g, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](ins[2]), floats[float64](out), false)
	}
	return nil
}
