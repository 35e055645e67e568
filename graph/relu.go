package graph

import (
	"fmt"
	"hash"
	"math"

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
	j := jobOf[reluJob[T]](e)
	j.x, j.y = x, y
	e.parallel(len(x), j)
}

type reluJob[T Float] struct{ x, y []T }

func (j *reluJob[T]) Run(lo, hi int) {
	x, y := j.x, j.y
	if is32[T]() {
		relu32(cast[float32](x[lo:hi]), cast[float32](y[lo:hi]))
		return
	}
	for i, v := range x[lo:hi] {
		y[lo+i] = max(v, 0)
	}
}

// relu32 clears negative values (and -0) branch-free: the sign bit, smeared over the word, masks it.
func relu32(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		b := math.Float32bits(v)
		y[i] = math.Float32frombits(b &^ uint32(int32(b)>>31))
	}
}

// reluGrad32 passes dy where y > 0, branch-free. y is a ReLU output, so y > 0 exactly when its bits are
// non-zero and the sign bit is clear.
func reluGrad32(y, dy, dx []float32) {
	dy, dx = dy[:len(y)], dx[:len(y)]
	for i, v := range y {
		b := int32(math.Float32bits(v))
		// keep is all ones when b > 0: -b is negative then (and for -0, whose sign bit clears it again).
		keep := uint32((-b)>>31) &^ uint32(b>>31)
		dx[i] = math.Float32frombits(math.Float32bits(dy[i]) & keep)
	}
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
	j := jobOf[reluGradJob[T]](e)
	j.y, j.dy, j.dx = y, dy, dx
	e.parallel(len(y), j)
}

type reluGradJob[T Float] struct{ y, dy, dx []T }

func (j *reluGradJob[T]) Run(lo, hi int) {
	y, dy, dx := j.y, j.dy, j.dx
	if is32[T]() {
		reluGrad32(cast[float32](y[lo:hi]), cast[float32](dy[lo:hi]), cast[float32](dx[lo:hi]))
		return
	}
	for i, v := range y[lo:hi] {
		if v > 0 {
			dx[lo+i] = dy[lo+i]
		} else {
			dx[lo+i] = 0
		}
	}
}
