package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Concat joins N tensors of the same rank and dtype along Axis (1 for the channels of NCHW); every other
// dimension must agree. It is n-ary the way Gorgonia's own concatenation is: Arity is -1, and N, the
// number of inputs, fixes the op's type. Its gradient with respect to input i is ConcatGrad, the slice
// of the output gradient that input i filled.
type Concat struct {
	pure
	Axis int
	N    int
}

func (op Concat) Arity() int   { return -1 }
func (op Concat) Kind() string { return "concat" }
func (op Concat) Type() hm.Type {
	ts := make([]hm.Type, max(op.N, 1)+1)
	for i := range ts {
		ts[i] = typeA
	}
	return fnType(ts...)
}
func (op Concat) String() string                   { return fmt.Sprintf("Concat{axis=%d n=%d}", op.Axis, op.N) }
func (op Concat) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op Concat) Hashcode() uint32                 { return hashcodeOf(op) }
func (op Concat) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op Concat) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op Concat) DiffWRT(inputs int) []bool {
	d := make([]bool, inputs)
	for i := range d {
		d[i] = true
	}
	return d
}

func (op Concat) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	if op.N < 2 {
		return nil, fmt.Errorf("Concat: %w: N = %d, need at least 2 inputs", ErrShape, op.N)
	}
	s, err := shapesOf(ds, op.N, "Concat")
	if err != nil {
		return nil, err
	}
	return op.outShape(s)
}

// outShape checks the input shapes and returns the joined shape.
func (op Concat) outShape(s []tensor.Shape) (tensor.Shape, error) {
	r := len(s[0])
	if op.Axis < 0 || op.Axis >= r {
		return nil, fmt.Errorf("Concat: %w: axis %d out of range for rank %d input %v", ErrShape, op.Axis, r, s[0])
	}
	out := s[0].Clone()
	for i, si := range s[1:] {
		if len(si) != r {
			return nil, fmt.Errorf("Concat: %w: input %d %v has rank %d, input 0 %v rank %d", ErrShape, i+1, si, len(si), s[0], r)
		}
		for d := range si {
			if d != op.Axis && si[d] != s[0][d] {
				return nil, fmt.Errorf("Concat: %w: input %d %v differs from input 0 %v outside axis %d", ErrShape, i+1, si, s[0], op.Axis)
			}
		}
		out[op.Axis] += si[op.Axis]
	}
	return out, nil
}

func (op Concat) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	out := make(G.Nodes, len(inputs))
	offset := 0
	for i, in := range inputs {
		s := in.Shape()
		if op.Axis < 0 || op.Axis >= len(s) {
			return nil, fmt.Errorf("Concat gradient: %w: axis %d out of range for input %v", ErrShape, op.Axis, s)
		}
		size := s[op.Axis]
		d, err := G.ApplyOp(ConcatGrad{Axis: op.Axis, Offset: offset, Size: size}, grad)
		if err != nil {
			return nil, fmt.Errorf("Concat gradient wrt input %d: %w", i, err)
		}
		out[i] = d
		offset += size
	}
	return out, nil
}

func (op Concat) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	if op.N < 2 || len(ins) != op.N {
		return fmt.Errorf("Concat: %w: %d inputs, N = %d", ErrShape, len(ins), op.N)
	}
	shapes := make([]tensor.Shape, len(ins))
	for i, in := range ins {
		shapes[i] = in.Shape()
	}
	if _, err := op.outShape(shapes); err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		concat(e, op.Axis, floats[float32](out), ins, floats[float32])
	} else {
		concat(e, op.Axis, floats[float64](out), ins, floats[float64])
	}
	return nil
}

// SplitAt returns the product of the dimensions of s before axis and of those after it (the outer and
// inner sizes of a concatenation along axis).
func SplitAt(s tensor.Shape, axis int) (outer, inner int) {
	outer, inner = 1, 1
	for _, d := range s[:axis] {
		outer *= d
	}
	for _, d := range s[axis+1:] {
		inner *= d
	}
	return outer, inner
}

// concat copies the inputs' blocks into out, one outer index (an image, for axis 1) per task.
func concat[T Float](e *Exec, axis int, out []T, ins []*tensor.Dense, view func(*tensor.Dense) []T) {
	outer, inner := SplitAt(ins[0].Shape(), axis)
	job := jobOf[concatJob[T]](e)
	job.out, job.srcs, job.sizes, job.total = out, job.srcs[:0], job.sizes[:0], 0
	for _, in := range ins {
		size := in.Shape()[axis] * inner
		job.srcs, job.sizes = append(job.srcs, view(in)), append(job.sizes, size)
		job.total += size
	}
	e.parallel(outer, job)
}

// concatJob copies the blocks of its sources into out; its slices are reused from call to call.
type concatJob[T Float] struct {
	out   []T
	srcs  [][]T
	sizes []int
	total int
}

func (job *concatJob[T]) Run(lo, hi int) {
	for o := lo; o < hi; o++ {
		dst := job.out[o*job.total : (o+1)*job.total]
		for i, src := range job.srcs {
			size := job.sizes[i]
			copy(dst[:size], src[o*size:(o+1)*size])
			dst = dst[size:]
		}
	}
}

// ConcatGrad is the gradient of Concat with respect to one input: the slice [Offset, Offset+Size) along
// Axis of the output gradient dy.
type ConcatGrad struct {
	pure
	Axis, Offset, Size int
}

func (op ConcatGrad) Arity() int    { return 1 }
func (op ConcatGrad) Kind() string  { return "concat_grad" }
func (op ConcatGrad) Type() hm.Type { return fnType(typeA, typeA) }
func (op ConcatGrad) String() string {
	return fmt.Sprintf("ConcatGrad{axis=%d offset=%d size=%d}", op.Axis, op.Offset, op.Size)
}
func (op ConcatGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op ConcatGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op ConcatGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op ConcatGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op ConcatGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "ConcatGrad")
	if err != nil {
		return nil, err
	}
	return op.outShape(s[0])
}

func (op ConcatGrad) outShape(dy tensor.Shape) (tensor.Shape, error) {
	if op.Axis < 0 || op.Axis >= len(dy) {
		return nil, fmt.Errorf("ConcatGrad: %w: axis %d out of range for gradient %v", ErrShape, op.Axis, dy)
	}
	if op.Offset < 0 || op.Size <= 0 || op.Offset+op.Size > dy[op.Axis] {
		return nil, fmt.Errorf("ConcatGrad: %w: slice [%d, %d) of axis %d does not fit gradient %v", ErrShape, op.Offset, op.Offset+op.Size, op.Axis, dy)
	}
	out := dy.Clone()
	out[op.Axis] = op.Size
	return out, nil
}

func (op ConcatGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	s := ins[0].Shape()
	if _, err := op.outShape(s); err != nil {
		return err
	}
	outer, inner := SplitAt(s, op.Axis)
	if ins[0].Dtype() == tensor.Float32 {
		concatSlice(e, outer, s[op.Axis]*inner, op.Offset*inner, op.Size*inner, floats[float32](ins[0]), floats[float32](out))
	} else {
		concatSlice(e, outer, s[op.Axis]*inner, op.Offset*inner, op.Size*inner, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

// concatSlice copies elements [from, from+size) of each of the outer blocks of length block of src.
func concatSlice[T Float](e *Exec, outer, block, from, size int, src, dst []T) {
	job := jobOf[concatSliceJob[T]](e)
	job.block, job.from, job.size, job.src, job.dst = block, from, size, src, dst
	e.parallel(outer, job)
}

type concatSliceJob[T Float] struct {
	block int
	from  int
	size  int
	src   []T
	dst   []T
}

func (job *concatSliceJob[T]) Run(lo, hi int) {
	block, from, size, src, dst := job.block, job.from, job.size, job.src, job.dst
	for o := lo; o < hi; o++ {
		copy(dst[o*size:(o+1)*size], src[o*block+from:o*block+from+size])
	}
}
