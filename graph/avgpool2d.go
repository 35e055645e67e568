package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AvgPool2D averages each window of an NCHW input over the pixels inside the image. Its gradient is
// AvgPool2DGrad.
type AvgPool2D struct {
	pure
	Window
}

func (op AvgPool2D) Arity() int                       { return 1 }
func (op AvgPool2D) Kind() string                     { return "avgpool2d" }
func (op AvgPool2D) Type() hm.Type                    { return fnType(tensorOf(4), tensorOf(4)) }
func (op AvgPool2D) String() string                   { return fmt.Sprintf("AvgPool2D{%v}", op.Window) }
func (op AvgPool2D) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op AvgPool2D) Hashcode() uint32                 { return hashcodeOf(op) }
func (op AvgPool2D) DiffWRT(int) []bool               { return []bool{true} }
func (op AvgPool2D) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op AvgPool2D) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op AvgPool2D) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "AvgPool2D")
	if err != nil {
		return nil, err
	}
	g, err := op.geometry("AvgPool2D", s[0])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.n, g.c, g.oh, g.ow}, nil
}

func (op AvgPool2D) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	s := inputs[0].Shape()
	dx, err := G.ApplyOp(AvgPool2DGrad{Window: op.Window, InH: s[2], InW: s[3]}, grad)
	if err != nil {
		return nil, fmt.Errorf("AvgPool2D gradient: %w", err)
	}
	return G.Nodes{dx}, nil
}

func (op AvgPool2D) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	g, err := op.geometry("AvgPool2D", ins[0].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		avgPool(e, g, floats[float32](ins[0]), floats[float32](out))
	} else {
		avgPool(e, g, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

// AvgPool2DGrad is the gradient of AvgPool2D: from the output gradient dy it gives dx (N, C, InH, InW).
type AvgPool2DGrad struct {
	pure
	Window
	InH, InW int
}

func (op AvgPool2DGrad) Arity() int    { return 1 }
func (op AvgPool2DGrad) Kind() string  { return "avgpool2d_grad" }
func (op AvgPool2DGrad) Type() hm.Type { return fnType(tensorOf(4), tensorOf(4)) }
func (op AvgPool2DGrad) String() string {
	return fmt.Sprintf("AvgPool2DGrad{%v in=%dx%d}", op.Window, op.InH, op.InW)
}
func (op AvgPool2DGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op AvgPool2DGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op AvgPool2DGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op AvgPool2DGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op AvgPool2DGrad) geometry(dy tensor.Shape) (convGeometry, error) {
	if len(dy) != 4 {
		return convGeometry{}, fmt.Errorf("AvgPool2DGrad: %w: gradient %v must be NCHW", ErrShape, dy)
	}
	g, err := op.Window.geometry("AvgPool2DGrad", tensor.Shape{dy[0], dy[1], op.InH, op.InW})
	if err != nil {
		return g, err
	}
	if dy[2] != g.oh || dy[3] != g.ow {
		return g, fmt.Errorf("AvgPool2DGrad: %w: gradient %v, want %dx%d outputs", ErrShape, dy, g.oh, g.ow)
	}
	return g, nil
}

func (op AvgPool2DGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "AvgPool2DGrad")
	if err != nil {
		return nil, err
	}
	g, err := op.geometry(s[0])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.n, g.c, g.h, g.w}, nil
}

func (op AvgPool2DGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	g, err := op.geometry(ins[0].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		avgPoolGrad(e, g, floats[float32](ins[0]), floats[float32](out))
	} else {
		avgPoolGrad(e, g, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}
