package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Op is implemented by every fovea op: Gorgonia's op interface plus a CPU kernel that writes into a
// preallocated output. Kernels never allocate in steady state; they take scratch memory from the Exec.
type Op interface {
	G.Op
	Kernel
}

// Kernel is a compiled unit of work: one op, or a fused group of ops (see fuse.go).
type Kernel interface {
	// Kind names the kernel family ("conv2d", "conv2d_backprop_input", "conv2d_bias_relu", ...). A
	// device backend maps kinds to its own kernels; the exported fields are the kernel's parameters.
	Kind() string
	// Exec runs the CPU kernel: it reads ins and overwrites every element of out.
	Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error
}

var (
	// typeA is the type variable fovea ops use; Gorgonia reserves 'b' for the result during inference.
	typeA = hm.TypeVariable('a')
)

// tensorOf returns the Gorgonia type of a float tensor with the given rank (rank 0 is a scalar).
func tensorOf(dims int) hm.Type {
	if dims == 0 {
		return typeA
	}
	return G.TensorType{Dims: dims, Of: typeA}
}

// int32Tensor is the type of a label vector.
func int32Tensor(dims int) hm.Type { return G.TensorType{Dims: dims, Of: tensor.Int32} }

// fnType builds an op type from its argument and result types.
func fnType(ts ...hm.Type) hm.Type { return hm.NewFnType(ts...) }

// hashOp writes an op's identity, its String form, which names every parameter, into h.
func hashOp(h hash.Hash, op fmt.Stringer) { h.Write([]byte(op.String())) }

// hashcodeOf is the 32-bit FNV hash of an op's String form.
func hashcodeOf(op fmt.Stringer) uint32 {
	h := fnv.New32a()
	hashOp(h, op)
	return h.Sum32()
}

// shapesOf converts Gorgonia's dimension sizers to shapes.
func shapesOf(ds []G.DimSizer, want int, name string) ([]tensor.Shape, error) {
	if len(ds) != want {
		return nil, fmt.Errorf("%s: %w: got %d inputs, want %d", name, ErrShape, len(ds), want)
	}
	out := make([]tensor.Shape, len(ds))
	for i, d := range ds {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("%s: input %d has no shape", name, i)
		}
		out[i] = s
	}
	return out, nil
}

// asDense converts a Gorgonia value (a dense tensor or a scalar) to a dense tensor.
func asDense(v G.Value) (*tensor.Dense, error) {
	switch x := v.(type) {
	case *tensor.Dense:
		return x, nil
	case *G.F32:
		return tensor.New(tensor.FromScalar(float32(*x))), nil
	case *G.F64:
		return tensor.New(tensor.FromScalar(float64(*x))), nil
	case *G.I32:
		return tensor.New(tensor.FromScalar(int32(*x))), nil
	case *G.I64:
		return tensor.New(tensor.FromScalar(int64(*x))), nil
	case nil:
		return nil, fmt.Errorf("missing input value")
	default:
		return nil, fmt.Errorf("unsupported value type %T", v)
	}
}

// newDense allocates a zeroed tensor; a rank-0 shape gives a scalar.
func newDense(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	if len(shape) == 0 {
		switch dt {
		case tensor.Float64:
			return tensor.New(tensor.FromScalar(float64(0)))
		case tensor.Int32:
			return tensor.New(tensor.FromScalar(int32(0)))
		case tensor.Int64:
			return tensor.New(tensor.FromScalar(int64(0)))
		default:
			return tensor.New(tensor.FromScalar(float32(0)))
		}
	}
	return tensor.New(tensor.Of(dt), tensor.WithShape(shape.Clone()...))
}

// doOp runs a fovea op outside a compiled program (Gorgonia's tape machine calls this through Do). It
// allocates its output unless prealloc already has the right dtype and shape.
func doOp(op Op, prealloc G.Value, vals []G.Value) (G.Value, error) {
	ins := make([]*tensor.Dense, len(vals))
	ds := make([]G.DimSizer, len(vals))
	for i, v := range vals {
		d, err := asDense(v)
		if err != nil {
			return nil, fmt.Errorf("%v: input %d: %w", op, i, err)
		}
		ins[i] = d
		ds[i] = d.Shape()
	}
	shape, err := op.InferShape(ds...)
	if err != nil {
		return nil, err
	}
	dt := ins[0].Dtype()
	out, ok := prealloc.(*tensor.Dense)
	if !ok || out.Dtype() != dt || !out.Shape().Eq(shape) {
		out = newDense(dt, shape)
	}
	e := NewExec(0)
	defer e.Close()
	if err := op.Exec(e, out, ins); err != nil {
		return nil, err
	}
	return out, nil
}

// pure supplies the Gorgonia op methods that are the same for every fovea op: ops return fresh values,
// call no external code and never overwrite their inputs.
type pure struct{}

func (pure) ReturnsPtr() bool     { return false }
func (pure) CallsExtern() bool    { return false }
func (pure) OverwritesInput() int { return -1 }
