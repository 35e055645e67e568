package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GlobalAvgPool averages each channel of an NCHW input over its spatial positions: (N, C, H, W) gives
// (N, C), Keras' GlobalAveragePooling2D. Its gradient is GlobalAvgPoolGrad.
type GlobalAvgPool struct{ pure }

func (op GlobalAvgPool) Arity() int                       { return 1 }
func (op GlobalAvgPool) Kind() string                     { return "global_avgpool" }
func (op GlobalAvgPool) Type() hm.Type                    { return fnType(tensorOf(4), tensorOf(2)) }
func (op GlobalAvgPool) String() string                   { return "GlobalAvgPool" }
func (op GlobalAvgPool) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op GlobalAvgPool) Hashcode() uint32                 { return hashcodeOf(op) }
func (op GlobalAvgPool) DiffWRT(int) []bool               { return []bool{true} }
func (op GlobalAvgPool) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op GlobalAvgPool) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op GlobalAvgPool) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "GlobalAvgPool")
	if err != nil {
		return nil, err
	}
	if len(s[0]) != 4 {
		return nil, fmt.Errorf("GlobalAvgPool: %w: input %v must be NCHW", ErrShape, s[0])
	}
	return tensor.Shape{s[0][0], s[0][1]}, nil
}

func (op GlobalAvgPool) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	s := inputs[0].Shape()
	dx, err := G.ApplyOp(GlobalAvgPoolGrad{H: s[2], W: s[3]}, grad)
	if err != nil {
		return nil, fmt.Errorf("GlobalAvgPool gradient: %w", err)
	}
	return G.Nodes{dx}, nil
}

func (op GlobalAvgPool) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	s := ins[0].Shape()
	if ins[0].Dtype() == tensor.Float32 {
		globalAvgPool(e, s[0]*s[1], s[2]*s[3], floats[float32](ins[0]), floats[float32](out))
	} else {
		globalAvgPool(e, s[0]*s[1], s[2]*s[3], floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

func globalAvgPool[T Float](e *Exec, planes, size int, x, y []T) {
	j := jobOf[globalAvgPoolJob[T]](e)
	j.size, j.x, j.y = size, x, y
	e.parallel(planes, j)
}

type globalAvgPoolJob[T Float] struct {
	size int
	x, y []T
}

func (j *globalAvgPoolJob[T]) Run(lo, hi int) {
	size, x, y := j.size, j.x, j.y
	for p := lo; p < hi; p++ {
		var s T
		for _, v := range x[p*size : (p+1)*size] {
			s += v
		}
		y[p] = s / T(size)
	}
}

// GlobalAvgPoolGrad spreads a (N, C) gradient evenly over H×W positions.
type GlobalAvgPoolGrad struct {
	pure
	H, W int
}

func (op GlobalAvgPoolGrad) Arity() int    { return 1 }
func (op GlobalAvgPoolGrad) Kind() string  { return "global_avgpool_grad" }
func (op GlobalAvgPoolGrad) Type() hm.Type { return fnType(tensorOf(2), tensorOf(4)) }
func (op GlobalAvgPoolGrad) String() string {
	return fmt.Sprintf("GlobalAvgPoolGrad{%dx%d}", op.H, op.W)
}
func (op GlobalAvgPoolGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op GlobalAvgPoolGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op GlobalAvgPoolGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op GlobalAvgPoolGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op GlobalAvgPoolGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "GlobalAvgPoolGrad")
	if err != nil {
		return nil, err
	}
	if len(s[0]) != 2 || op.H <= 0 || op.W <= 0 {
		return nil, fmt.Errorf("GlobalAvgPoolGrad: %w: gradient %v must be (N, C) and %dx%d positive", ErrShape, s[0], op.H, op.W)
	}
	return tensor.Shape{s[0][0], s[0][1], op.H, op.W}, nil
}

func (op GlobalAvgPoolGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	s := ins[0].Shape()
	if ins[0].Dtype() == tensor.Float32 {
		globalAvgPoolGrad(e, s[0]*s[1], op.H*op.W, floats[float32](ins[0]), floats[float32](out))
	} else {
		globalAvgPoolGrad(e, s[0]*s[1], op.H*op.W, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

func globalAvgPoolGrad[T Float](e *Exec, planes, size int, dy, dx []T) {
	j := jobOf[globalAvgPoolGradJob[T]](e)
	j.size, j.dy, j.dx = size, dy, dx
	e.parallel(planes, j)
}

type globalAvgPoolGradJob[T Float] struct {
	size   int
	dy, dx []T
}

func (j *globalAvgPoolGradJob[T]) Run(lo, hi int) {
	size, dy, dx := j.size, j.dy, j.dx
	for p := lo; p < hi; p++ {
		v := dy[p] / T(size)
		plane := dx[p*size : (p+1)*size]
		for i := range plane {
			plane[i] = v
		}
	}
}
