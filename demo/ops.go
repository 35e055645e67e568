package demo

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/graph"
)

// Convolve filters every plane of p with f through fovea's Conv2D op (stride 1, SAME padding from
// graph.Pad2D, so the output has p's size): the planes become a batch of C one-channel images and f a
// (1, 1, Size, Size) kernel.
func Convolve(p Planes, f Filter) (Planes, error) {
	if err := p.check(); err != nil {
		return Planes{}, fmt.Errorf("convolve: %w", err)
	}
	if f.Size <= 0 || len(f.Weights) != f.Size*f.Size {
		return Planes{}, fmt.Errorf("convolve: filter %q has %d weights for a %d×%d kernel", f.Name, len(f.Weights), f.Size, f.Size)
	}
	pad, err := graph.Pad2D(graph.Same, p.H, p.W, f.Size, f.Size, 1, 1)
	if err != nil {
		return Planes{}, fmt.Errorf("convolve with %s: %w", f.Name, err)
	}
	x := p.Tensor()
	if err := x.Reshape(p.C, 1, p.H, p.W); err != nil {
		return Planes{}, fmt.Errorf("convolve: %w", err)
	}
	w := make([]float32, len(f.Weights))
	for i, v := range f.Weights {
		w[i] = float32(v)
	}
	kernel := tensor.New(tensor.WithShape(1, 1, f.Size, f.Size), tensor.WithBacking(w))
	out, err := run(graph.Conv2D{StrideH: 1, StrideW: 1, Pad: pad}, x, kernel)
	if err != nil {
		return Planes{}, fmt.Errorf("convolve with %s: %w", f.Name, err)
	}
	s := out.Shape()
	return Planes{C: s[0], H: s[2], W: s[3], Pix: out.Float32s()}, nil
}

// MaxPool takes the maximum of every size×size window (stride size, no padding: Keras' MaxPooling2D) of
// every plane, through fovea's MaxPool2D op.
func MaxPool(p Planes, size int) (Planes, error) {
	w, err := poolWindow(p, size)
	if err != nil {
		return Planes{}, fmt.Errorf("max pool: %w", err)
	}
	return apply(graph.MaxPool2D{Window: w}, p)
}

// AvgPool averages every size×size window (stride size, no padding: Keras' AveragePooling2D) of every
// plane, through fovea's AvgPool2D op.
func AvgPool(p Planes, size int) (Planes, error) {
	w, err := poolWindow(p, size)
	if err != nil {
		return Planes{}, fmt.Errorf("average pool: %w", err)
	}
	return apply(graph.AvgPool2D{Window: w}, p)
}

// DepthwiseMaxPool keeps, at every pixel, the maximum of each group of k consecutive planes, through
// fovea's DepthwiseMaxPool op: 3 RGB planes with k = 3 give one plane.
func DepthwiseMaxPool(p Planes, k int) (Planes, error) {
	return apply(graph.DepthwiseMaxPool{K: k}, p)
}

func poolWindow(p Planes, size int) (graph.Window, error) {
	if size <= 0 {
		return graph.Window{}, fmt.Errorf("window %d must be positive", size)
	}
	pad, err := graph.Pad2D(graph.Valid, p.H, p.W, size, size, size, size)
	if err != nil {
		return graph.Window{}, err
	}
	return graph.Window{KH: size, KW: size, StrideH: size, StrideW: size, Pad: pad}, nil
}

// apply runs a one-input op on p as a batch of one.
func apply(op G.Op, p Planes) (Planes, error) {
	if err := p.check(); err != nil {
		return Planes{}, fmt.Errorf("%v: %w", op, err)
	}
	out, err := run(op, p.Tensor())
	if err != nil {
		return Planes{}, err
	}
	return FromTensor(out)
}

// run applies op to its inputs with the op's own kernel (Do), as Gorgonia's tape machine would.
func run(op G.Op, ins ...*tensor.Dense) (*tensor.Dense, error) {
	vals := make([]G.Value, len(ins))
	for i, d := range ins {
		vals[i] = d
	}
	v, err := op.Do(vals...)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*tensor.Dense)
	if !ok {
		return nil, fmt.Errorf("%v returned %T, want a dense tensor", op, v)
	}
	return d, nil
}
