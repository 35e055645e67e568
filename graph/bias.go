package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BiasAdd adds a per-channel bias b (C) to x (N, C, ...): y[n, c, ...] = x[n, c, ...] + b[c]. It serves both
// convolutions (NCHW) and dense layers (N, C).
type BiasAdd struct{ pure }

func (op BiasAdd) Arity() int                       { return 2 }
func (op BiasAdd) Kind() string                     { return "bias_add" }
func (op BiasAdd) Type() hm.Type                    { return fnType(typeA, hm.TypeVariable('c'), typeA) }
func (op BiasAdd) String() string                   { return "BiasAdd" }
func (op BiasAdd) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op BiasAdd) Hashcode() uint32                 { return hashcodeOf(op) }
func (op BiasAdd) DiffWRT(int) []bool               { return []bool{true, true} }
func (op BiasAdd) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op BiasAdd) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op BiasAdd) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "BiasAdd")
	if err != nil {
		return nil, err
	}
	x, b := s[0], s[1]
	if len(x) < 2 || len(b) != 1 || b[0] != x[1] {
		return nil, fmt.Errorf("BiasAdd: %w: input %v needs a bias of shape (%v), got %v", ErrShape, x, x[min(1, len(x)-1)], b)
	}
	return x.Clone(), nil
}

func (op BiasAdd) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	db, err := G.ApplyOp(BiasGrad{Rank: grad.Dims()}, grad)
	if err != nil {
		return nil, fmt.Errorf("BiasAdd gradient: %w", err)
	}
	return G.Nodes{grad, db}, nil
}

func (op BiasAdd) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	s := ins[0].Shape()
	n, c := s[0], s[1]
	inner := s.TotalSize() / max(n*c, 1)
	if ins[0].Dtype() == tensor.Float32 {
		biasAdd(e, n, c, inner, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	} else {
		biasAdd(e, n, c, inner, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
	}
	return nil
}

func biasAdd[T Float](e *Exec, n, c, inner int, x, b, y []T) {
	j := jobOf[biasAddJob[T]](e)
	j.c, j.inner, j.x, j.b, j.y = c, inner, x, b, y
	e.parallel(n*c, j)
}

type biasAddJob[T Float] struct {
	c, inner int
	x, b, y  []T
}

func (j *biasAddJob[T]) Run(lo, hi int) {
	c, inner, x, b, y := j.c, j.inner, j.x, j.b, j.y
	for p := lo; p < hi; p++ {
		bv := b[p%c]
		xs, ys := x[p*inner:(p+1)*inner], y[p*inner:(p+1)*inner]
		for i, v := range xs {
			ys[i] = v + bv
		}
	}
}

// BiasGrad sums a gradient dy (N, C, ...) over every axis but the channel axis, giving (C): the
// gradient of BiasAdd with respect to its bias. Rank is the rank of dy (Gorgonia types carry ranks).
type BiasGrad struct {
	pure
	Rank int
}

func (op BiasGrad) Arity() int                       { return 1 }
func (op BiasGrad) Kind() string                     { return "bias_grad" }
func (op BiasGrad) Type() hm.Type                    { return fnType(tensorOf(op.Rank), tensorOf(1)) }
func (op BiasGrad) String() string                   { return fmt.Sprintf("BiasGrad{rank=%d}", op.Rank) }
func (op BiasGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op BiasGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op BiasGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op BiasGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op BiasGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "BiasGrad")
	if err != nil {
		return nil, err
	}
	if len(s[0]) < 2 || len(s[0]) != op.Rank {
		return nil, fmt.Errorf("BiasGrad: %w: gradient %v has no channel axis", ErrShape, s[0])
	}
	return tensor.Shape{s[0][1]}, nil
}

func (op BiasGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	s := ins[0].Shape()
	n, c := s[0], s[1]
	inner := s.TotalSize() / max(n*c, 1)
	if ins[0].Dtype() == tensor.Float32 {
		biasGrad(e, n, c, inner, floats[float32](ins[0]), floats[float32](out))
	} else {
		biasGrad(e, n, c, inner, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

func biasGrad[T Float](e *Exec, n, c, inner int, dy, db []T) {
	j := jobOf[biasGradJob[T]](e)
	j.n, j.c, j.inner, j.dy, j.db = n, c, inner, dy, db
	e.parallel(c, j)
}

type biasGradJob[T Float] struct {
	n, c, inner int
	dy, db      []T
}

func (j *biasGradJob[T]) Run(lo, hi int) {
	n, c, inner, dy, db := j.n, j.c, j.inner, j.dy, j.db
	for ch := lo; ch < hi; ch++ {
		var s T
		for i := 0; i < n; i++ {
			for _, v := range dy[(i*c+ch)*inner : (i*c+ch+1)*inner] {
				s += v
			}
		}
		db[ch] = s
	}
}
