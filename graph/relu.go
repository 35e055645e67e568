package graph

import (
	"fmt"
	"hash"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/chewxy/hm"
)

// ReLU is max(x, 0), elementwise. Its gradient, ReLUGrad, reads the output: dx = dy where y > 0.
type ReLU struct{ pure }

func (op ReLU) Arity() int                       { return 1 }
func (op ReLU) Kind() string                     { return "relu" }
func (op ReLU) Type() hm.Type                    { return fnType(typeA, typeA) }
func (op ReLU) String() string                   { return "ReLU" }
func (op ReLU) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op ReLU) Hashcode() uint32                 { return hashcodeOf(op) }
func (op ReLU) DiffWRT(int) []bool               { return []bool{true} }
func (op ReLU) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op ReLU) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op ReLU) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "ReLU")
	if err != nil {
		return nil, err
	}
	return s[0].Clone(), nil
}

func (op ReLU) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(ReLUGrad{}, output, grad)
	if err != nil {
		return nil, fmt.Errorf("ReLU gradient: %w", err)
	}
	return G.Nodes{dx}, nil
}

func (op ReLU) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	if ins[0].Dtype() == tensor.Float32 {
		relu(e, floats[float32](ins[0]), floats[float32](out))
	} else {
		relu(e, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

func relu[T Float](e *Exec, x, y []T) {
	e.parallelFor(len(x), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			y[lo+i] = max(v, 0)
		}
	})
}

// ReLUGrad is the gradient of ReLU given its output y and the output gradient dy.
type ReLUGrad struct{ pure }

func (op ReLUGrad) Arity() int                       { return 2 }
func (op ReLUGrad) Kind() string                     { return "relu_grad" }
func (op ReLUGrad) Type() hm.Type                    { return fnType(typeA, typeA, typeA) }
func (op ReLUGrad) String() string                   { return "ReLUGrad" }
func (op ReLUGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op ReLUGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op ReLUGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op ReLUGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op ReLUGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "ReLUGrad")
	if err != nil {
		return nil, err
	}
	if !s[0].Eq(s[1]) {
		return nil, fmt.Errorf("ReLUGrad: %w: output %v and gradient %v differ", ErrShape, s[0], s[1])
	}
	return s[0].Clone(), nil
}

func (op ReLUGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	if ins[0].Dtype() == tensor.Float32 {
		reluGrad(e, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	} else {
		reluGrad(e, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
	}
	return nil
}

func reluGrad[T Float](e *Exec, y, dy, dx []T) {
	e.parallelFor(len(y), func(lo, hi int) {
		for i, v := range y[lo:hi] {
			if v > 0 {
				dx[lo+i] = dy[lo+i]
			} else {
				dx[lo+i] = 0
			}
		}
	})
}
