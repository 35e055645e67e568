package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MatMul multiplies two matrices, either of them transposed: y = op(a)·op(b).
type MatMul struct {
	pure
	TransA, TransB bool
}

func (op MatMul) Arity() int    { return 2 }
func (op MatMul) Kind() string  { return "matmul" }
func (op MatMul) Type() hm.Type { return fnType(tensorOf(2), tensorOf(2), tensorOf(2)) }
func (op MatMul) String() string {
	return fmt.Sprintf("MatMul{ta=%t tb=%t}", op.TransA, op.TransB)
}
func (op MatMul) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op MatMul) Hashcode() uint32                 { return hashcodeOf(op) }
func (op MatMul) DiffWRT(int) []bool               { return []bool{true, true} }
func (op MatMul) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op MatMul) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

// dims returns m, n, k of op(a) (m×k) times op(b) (k×n).
func (op MatMul) dims(a, b tensor.Shape) (m, n, k int, err error) {
	if len(a) != 2 || len(b) != 2 {
		return 0, 0, 0, fmt.Errorf("MatMul: %w: operands %v and %v must be matrices", ErrShape, a, b)
	}
	m, k = a[0], a[1]
	if op.TransA {
		m, k = k, m
	}
	kb, n := b[0], b[1]
	if op.TransB {
		kb, n = n, kb
	}
	if k != kb {
		return 0, 0, 0, fmt.Errorf("MatMul: %w: %v × %v (transposed %t, %t): inner sizes %d and %d differ", ErrShape, a, b, op.TransA, op.TransB, k, kb)
	}
	return m, n, k, nil
}

func (op MatMul) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "MatMul")
	if err != nil {
		return nil, err
	}
	m, n, _, err := op.dims(s[0], s[1])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{m, n}, nil
}

func (op MatMul) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	a, b := inputs[0], inputs[1]
	type term struct {
		op   MatMul
		l, r *G.Node
	}
	var da, db term
	switch {
	case !op.TransA && !op.TransB: // C = A·B
		da, db = term{MatMul{TransB: true}, grad, b}, term{MatMul{TransA: true}, a, grad}
	case op.TransA && !op.TransB: // C = Aᵀ·B
		da, db = term{MatMul{TransB: true}, b, grad}, term{MatMul{}, a, grad}
	case !op.TransA && op.TransB: // C = A·Bᵀ
		da, db = term{MatMul{}, grad, b}, term{MatMul{TransA: true}, grad, a}
	default: // C = Aᵀ·Bᵀ
		da, db = term{MatMul{TransA: true, TransB: true}, b, grad}, term{MatMul{TransA: true, TransB: true}, grad, a}
	}
	ga, err := G.ApplyOp(da.op, da.l, da.r)
	if err != nil {
		return nil, fmt.Errorf("MatMul gradient wrt a: %w", err)
	}
	gb, err := G.ApplyOp(db.op, db.l, db.r)
	if err != nil {
		return nil, fmt.Errorf("MatMul gradient wrt b: %w", err)
	}
	return G.Nodes{ga, gb}, nil
}

func (op MatMul) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	as, bs := ins[0].Shape(), ins[1].Shape()
	m, n, k, err := op.dims(as, bs)
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		return gemm(e, op.TransA, op.TransB, m, n, k, 1, floats[float32](ins[0]), as[1], floats[float32](ins[1]), bs[1], 0, floats[float32](out), n)
	}
	return gemm(e, op.TransA, op.TransB, m, n, k, 1, floats[float64](ins[0]), as[1], floats[float64](ins[1]), bs[1], 0, floats[float64](out), n)
}

// Dense is a fully connected layer's affine map: y = x·w + b for x (N, In), w (In, Out) as Keras stores
// it, and b (Out).
type Dense struct{ pure }

func (op Dense) Arity() int                       { return 3 }
func (op Dense) Kind() string                     { return "dense" }
func (op Dense) Type() hm.Type                    { return fnType(tensorOf(2), tensorOf(2), tensorOf(1), tensorOf(2)) }
func (op Dense) String() string                   { return "Dense" }
func (op Dense) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op Dense) Hashcode() uint32                 { return hashcodeOf(op) }
func (op Dense) DiffWRT(int) []bool               { return []bool{true, true, true} }
func (op Dense) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op Dense) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op Dense) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 3, "Dense")
	if err != nil {
		return nil, err
	}
	x, w, b := s[0], s[1], s[2]
	if len(x) != 2 || len(w) != 2 || len(b) != 1 || x[1] != w[0] || b[0] != w[1] {
		return nil, fmt.Errorf("Dense: %w: input %v, kernel %v, bias %v (want (N, In), (In, Out), (Out))", ErrShape, x, w, b)
	}
	return tensor.Shape{x[0], w[1]}, nil
}

func (op Dense) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	x, w := inputs[0], inputs[1]
	dx, err := G.ApplyOp(MatMul{TransB: true}, grad, w)
	if err != nil {
		return nil, fmt.Errorf("Dense gradient wrt input: %w", err)
	}
	dw, err := G.ApplyOp(MatMul{TransA: true}, x, grad)
	if err != nil {
		return nil, fmt.Errorf("Dense gradient wrt kernel: %w", err)
	}
	db, err := G.ApplyOp(BiasGrad{Rank: 2}, grad)
	if err != nil {
		return nil, fmt.Errorf("Dense gradient wrt bias: %w", err)
	}
	return G.Nodes{dx, dw, db}, nil
}

func (op Dense) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	xs, ws := ins[0].Shape(), ins[1].Shape()
	if ins[0].Dtype() == tensor.Float32 {
		return dense(e, xs[0], ws[1], xs[1], floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](ins[2]), floats[float32](out))
	}
	return dense(e, xs[0], ws[1], xs[1], floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](ins[2]), floats[float64](out))
}

func dense[T Float](e *Exec, n, out, in int, x, w, b, y []T) error {
	for i := 0; i < n; i++ {
		copy(y[i*out:(i+1)*out], b)
	}
	return gemm(e, false, false, n, out, in, 1, x, in, w, out, 1, y, out)
}
