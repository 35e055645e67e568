package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Reshape gives a tensor a new shape with the same number of elements, in row-major order. Flatten is
// Reshape to (N, C·H·W).
type Reshape struct {
	pure
	From, To tensor.Shape
}

func (op Reshape) Arity() int   { return 1 }
func (op Reshape) Kind() string { return "reshape" }
func (op Reshape) Type() hm.Type {
	e := hm.TypeVariable('e')
	return fnType(G.TensorType{Dims: len(op.From), Of: e}, G.TensorType{Dims: len(op.To), Of: e})
}
func (op Reshape) String() string                   { return fmt.Sprintf("Reshape{%v→%v}", op.From, op.To) }
func (op Reshape) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op Reshape) Hashcode() uint32                 { return hashcodeOf(op) }
func (op Reshape) DiffWRT(int) []bool               { return []bool{true} }
func (op Reshape) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op Reshape) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op Reshape) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "Reshape")
	if err != nil {
		return nil, err
	}
	if !s[0].Eq(op.From) || s[0].TotalSize() != op.To.TotalSize() {
		return nil, fmt.Errorf("Reshape: %w: input %v, op reshapes %v to %v", ErrShape, s[0], op.From, op.To)
	}
	return op.To.Clone(), nil
}

func (op Reshape) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(Reshape{From: op.To, To: op.From}, grad)
	if err != nil {
		return nil, fmt.Errorf("Reshape gradient: %w", err)
	}
	return G.Nodes{dx}, nil
}

func (op Reshape) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	copy(out.Raw, ins[0].Raw)
	return nil
}
