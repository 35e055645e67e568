package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Dropout zeroes each element of x with probability Rate and scales the rest by 1/(1-Rate), as Keras does
// in training. Its second input is the training step (an int64 scalar): the mask is a pure function of
// (Seed, step, element index) through a counter-based hash, so it needs no stored state, is the same on
// every device, and a resumed run draws the same masks as an uninterrupted one. DropoutGrad recomputes
// the mask from the same inputs.
type Dropout struct {
	pure
	Rate float64
	Seed uint64
}

func (op Dropout) Arity() int                       { return 2 }
func (op Dropout) Kind() string                     { return "dropout" }
func (op Dropout) Type() hm.Type                    { return fnType(typeA, tensor.Int64, typeA) }
func (op Dropout) String() string                   { return fmt.Sprintf("Dropout{rate=%g seed=%d}", op.Rate, op.Seed) }
func (op Dropout) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op Dropout) Hashcode() uint32                 { return hashcodeOf(op) }
func (op Dropout) DiffWRT(int) []bool               { return []bool{true, false} }
func (op Dropout) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op Dropout) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op Dropout) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return dropoutShape("Dropout", op.Rate, ds)
}

func dropoutShape(name string, rate float64, ds []G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, name)
	if err != nil {
		return nil, err
	}
	if !(rate >= 0 && rate < 1) {
		return nil, fmt.Errorf("%s: rate %g must be in [0, 1)", name, rate)
	}
	if len(s[1]) != 0 {
		return nil, fmt.Errorf("%s: %w: step must be a scalar, got %v", name, ErrShape, s[1])
	}
	return s[0].Clone(), nil
}

func (op Dropout) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(DropoutGrad(op), grad, inputs[1])
	if err != nil {
		return nil, fmt.Errorf("Dropout gradient: %w", err)
	}
	return G.Nodes{dx, nil}, nil
}

func (op Dropout) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	return dropoutExec(e, op.Rate, op.Seed, out, ins)
}

func dropoutExec(e *Exec, rate float64, seed uint64, out *tensor.Dense, ins []*tensor.Dense) error {
	if ins[1].Dtype() != tensor.Int64 {
		return fmt.Errorf("dropout: %w: step is %v, want int64", ErrDtype, ins[1].Dtype())
	}
	step := uint64(int64s(ins[1])[0])
	if ins[0].Dtype() == tensor.Float32 {
		dropout(e, rate, seed, step, floats[float32](ins[0]), floats[float32](out))
	} else {
		dropout(e, rate, seed, step, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

// DropoutGrad is the gradient of Dropout: dy times the same mask and scale, from (dy, step).
type DropoutGrad Dropout

func (op DropoutGrad) Arity() int    { return 2 }
func (op DropoutGrad) Kind() string  { return "dropout_grad" }
func (op DropoutGrad) Type() hm.Type { return fnType(typeA, tensor.Int64, typeA) }
func (op DropoutGrad) String() string {
	return fmt.Sprintf("DropoutGrad{rate=%g seed=%d}", op.Rate, op.Seed)
}
func (op DropoutGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op DropoutGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op DropoutGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op DropoutGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}
func (op DropoutGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return dropoutShape("DropoutGrad", op.Rate, ds)
}
func (op DropoutGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	return dropoutExec(e, op.Rate, op.Seed, out, ins)
}

// dropout applies the mask for (seed, step) to x: y = x·keep/(1-rate).
func dropout[T Float](e *Exec, rate float64, seed, step uint64, x, y []T) {
	scale := T(1 / (1 - rate))
	// An element is kept when its 24-bit uniform draw u/2²⁴ is at least rate.
	threshold := uint32(rate * (1 << 24))
	key := mix64(seed ^ mix64(step+0x9e3779b97f4a7c15))
	j := jobOf[dropoutJob[T]](e)
	j.x, j.y, j.scale, j.threshold, j.key = x, y, scale, threshold, key
	e.parallel(len(x), j)
}

type dropoutJob[T Float] struct {
	x, y      []T
	scale     T
	threshold uint32
	key       uint64
}

func (j *dropoutJob[T]) Run(lo, hi int) {
	x, y, scale, threshold, key := j.x, j.y, j.scale, j.threshold, j.key
	for i := lo; i < hi; i++ {
		if uint32(mix64(key+uint64(i))>>40) >= threshold {
			y[i] = x[i] * scale
		} else {
			y[i] = 0
		}
	}
}

// mix64 is the splitmix64 finaliser: a bijective hash of 64-bit words.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
