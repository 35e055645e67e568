package graph

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// DepthwiseMaxPool takes the maximum across groups of K consecutive channels of an NCHW input, at every
// pixel: x (N, C, H, W) with C divisible by K gives (N, C/K, H, W), out[n, g, h, w] = max of
// x[n, c, h, w] over c in [g·K, (g+1)·K). It is TensorFlow's tf.nn.max_pool with ksize (1, 1, 1, K) and
// strides (1, 1, 1, K) on NHWC. Its gradient, DepthwiseMaxPoolGrad, routes the output gradient to the
// channel each group picked.
type DepthwiseMaxPool struct {
	pure
	K int
}

func (op DepthwiseMaxPool) Arity() int                       { return 1 }
func (op DepthwiseMaxPool) Kind() string                     { return "depthwise_maxpool" }
func (op DepthwiseMaxPool) Type() hm.Type                    { return fnType(tensorOf(4), tensorOf(4)) }
func (op DepthwiseMaxPool) String() string                   { return fmt.Sprintf("DepthwiseMaxPool{k=%d}", op.K) }
func (op DepthwiseMaxPool) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op DepthwiseMaxPool) Hashcode() uint32                 { return hashcodeOf(op) }
func (op DepthwiseMaxPool) DiffWRT(int) []bool               { return []bool{true} }
func (op DepthwiseMaxPool) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op DepthwiseMaxPool) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op DepthwiseMaxPool) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 1, "DepthwiseMaxPool")
	if err != nil {
		return nil, err
	}
	g, err := depthwiseGeometryOf("DepthwiseMaxPool", op.K, s[0])
	if err != nil {
		return nil, err
	}
	return tensor.Shape{g.n, g.c / g.k, g.h, g.w}, nil
}

func (op DepthwiseMaxPool) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dx, err := G.ApplyOp(DepthwiseMaxPoolGrad{K: op.K}, inputs[0], grad)
	if err != nil {
		return nil, fmt.Errorf("DepthwiseMaxPool gradient: %w", err)
	}
	return G.Nodes{dx}, nil
}

func (op DepthwiseMaxPool) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	g, err := depthwiseGeometryOf("DepthwiseMaxPool", op.K, ins[0].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		depthwiseMaxPool(e, g, floats[float32](ins[0]), floats[float32](out))
	} else {
		depthwiseMaxPool(e, g, floats[float64](ins[0]), floats[float64](out))
	}
	return nil
}

// DepthwiseMaxPoolGrad is the gradient of DepthwiseMaxPool: from the pooled input x (N, C, H, W) and the
// output gradient dy (N, C/K, H, W) it gives dx (N, C, H, W), which holds dy at the first channel of each
// group that reached the maximum (the one DepthwiseMaxPool picked) and zero elsewhere.
type DepthwiseMaxPoolGrad struct {
	pure
	K int
}

func (op DepthwiseMaxPoolGrad) Arity() int    { return 2 }
func (op DepthwiseMaxPoolGrad) Kind() string  { return "depthwise_maxpool_grad" }
func (op DepthwiseMaxPoolGrad) Type() hm.Type { return fnType(tensorOf(4), tensorOf(4), tensorOf(4)) }
func (op DepthwiseMaxPoolGrad) String() string {
	return fmt.Sprintf("DepthwiseMaxPoolGrad{k=%d}", op.K)
}
func (op DepthwiseMaxPoolGrad) WriteHash(h hash.Hash)            { hashOp(h, op) }
func (op DepthwiseMaxPoolGrad) Hashcode() uint32                 { return hashcodeOf(op) }
func (op DepthwiseMaxPoolGrad) Do(v ...G.Value) (G.Value, error) { return doOp(op, nil, v) }
func (op DepthwiseMaxPoolGrad) UsePreallocDo(p G.Value, v ...G.Value) (G.Value, error) {
	return doOp(op, p, v)
}

func (op DepthwiseMaxPoolGrad) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s, err := shapesOf(ds, 2, "DepthwiseMaxPoolGrad")
	if err != nil {
		return nil, err
	}
	g, err := depthwiseGeometryOf("DepthwiseMaxPoolGrad", op.K, s[0])
	if err != nil {
		return nil, err
	}
	if want := (tensor.Shape{g.n, g.c / g.k, g.h, g.w}); !s[1].Eq(want) {
		return nil, fmt.Errorf("DepthwiseMaxPoolGrad: %w: gradient %v, want %v", ErrShape, s[1], want)
	}
	return s[0].Clone(), nil
}

func (op DepthwiseMaxPoolGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	g, err := depthwiseGeometryOf("DepthwiseMaxPoolGrad", op.K, ins[0].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		depthwiseMaxPoolGrad(e, g, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out))
	} else {
		depthwiseMaxPoolGrad(e, g, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out))
	}
	return nil
}

// depthwiseGeometry describes pooling groups of k channels of an (n, c, h, w) input.
type depthwiseGeometry struct{ n, c, h, w, k int }

// depthwiseGeometryOf checks that x is NCHW with a channel count divisible by k.
func depthwiseGeometryOf(name string, k int, x tensor.Shape) (depthwiseGeometry, error) {
	if len(x) != 4 {
		return depthwiseGeometry{}, fmt.Errorf("%s: %w: input %v must be NCHW", name, ErrShape, x)
	}
	if k <= 0 {
		return depthwiseGeometry{}, fmt.Errorf("%s: %w: pool size %d must be positive", name, ErrShape, k)
	}
	if x[1]%k != 0 {
		return depthwiseGeometry{}, fmt.Errorf("%s: %w: %d channels of input %v are not divisible by the pool size %d", name, ErrShape, x[1], x, k)
	}
	return depthwiseGeometry{n: x[0], c: x[1], h: x[2], w: x[3], k: k}, nil
}

// depthwiseMaxPool writes, for every image, group and pixel, the maximum over the group's k channels.
func depthwiseMaxPool[T Float](e *Exec, g depthwiseGeometry, x, y []T) {
	plane, groups := g.h*g.w, g.c/g.k
	job := jobOf[depthwiseMaxPoolJob[T]](e)
	job.g, job.x, job.y, job.plane = g, x, y, plane
	e.parallel(g.n*groups, job)
}

type depthwiseMaxPoolJob[T Float] struct {
	g     depthwiseGeometry
	x     []T
	y     []T
	plane int
}

func (job *depthwiseMaxPoolJob[T]) Run(lo, hi int) {
	g, x, y, plane := job.g, job.x, job.y, job.plane
	for p := lo; p < hi; p++ {
		// Output plane p pools input planes p·k … p·k+k-1 (groups are consecutive within an image,
		// and images follow each other, so the index arithmetic needs no split into n and group).
		in := x[p*g.k*plane : (p+1)*g.k*plane]
		out := y[p*plane : (p+1)*plane]
		copy(out, in[:plane])
		for c := 1; c < g.k; c++ {
			for i, v := range in[c*plane : (c+1)*plane] {
				if v > out[i] {
					out[i] = v
				}
			}
		}
	}
}

// depthwiseMaxPoolGrad routes each output gradient to the first channel of its group holding the maximum,
// the channel depthwiseMaxPool picked.
func depthwiseMaxPoolGrad[T Float](e *Exec, g depthwiseGeometry, x, dy, dx []T) {
	plane, groups := g.h*g.w, g.c/g.k
	job := jobOf[depthwiseMaxPoolGradJob[T]](e)
	job.g, job.x, job.dy, job.dx, job.plane = g, x, dy, dx, plane
	e.parallel(g.n*groups, job)
}

type depthwiseMaxPoolGradJob[T Float] struct {
	g     depthwiseGeometry
	x     []T
	dy    []T
	dx    []T
	plane int
}

func (job *depthwiseMaxPoolGradJob[T]) Run(lo, hi int) {
	g, x, dy, dx, plane := job.g, job.x, job.dy, job.dx, job.plane
	for p := lo; p < hi; p++ {
		in, d := x[p*g.k*plane:(p+1)*g.k*plane], dx[p*g.k*plane:(p+1)*g.k*plane]
		grad := dy[p*plane : (p+1)*plane]
		clear(d)
		for i := range plane {
			at, best := i, in[i]
			for c := 1; c < g.k; c++ {
				if v := in[c*plane+i]; v > best {
					at, best = c*plane+i, v
				}
			}
			d[at] = grad[i]
		}
	}
}
