package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Add is the elementwise sum of two tensors of the same shape (residual connections).
type Add struct{ pure }

func (op Add) Arity() int                       { return 2 }
func (op Add) Kind() string                     { return "add" }
func (op Add) Type() hm.Type                    { return fnType(typeA, typeA, typeA) }
func (op Add) String() string                   { return "Add" }
func (op Add) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op Add) Hashcode() uint32                 { return hashcodeOf(op) }
func (op Add) DiffWRT(int) []bool               { return []bool{true, true} }
func (op Add) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op Add) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op Add) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "Add")
	if err != nil {
		return nil, err
	}
	if !s[0].Eq(s[1]) {
		return nil, fmt.Errorf("Add: %w: %v and %v differ", ErrShape, s[0], s[1])
	}
	return s[0].Clone(), nil
}

func (op Add) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	return G.Nodes{grad, grad}, nil
}

func (op Add) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	if ins[0].Dtype() == tensor.Float32 {
		add(e, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	} else {
		add(e, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
	}
	return nil
}

func add[T Float](e *Exec, a, b, y []T) {
	j := jobOf[addJob[T]](e)
	j.a, j.b, j.y = a, b, y
	e.parallel(len(a), j)
}

type addJob[T Float] struct{ a, b, y []T }

func (j *addJob[T]) Run(lo, hi int) {
	a, b, y := j.a, j.b, j.y
	for i, v := range a[lo:hi] {
		y[lo+i] = v + b[lo+i]
	}
}
