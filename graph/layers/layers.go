// Package layers builds Keras-style layers out of fovea ops: each function takes a graph.Builder (which
// owns names, parameters and the train/eval switch) and an input node, and returns the output node. It
// holds no state of its own.
package layers

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/graph"
)

// Layer adds one layer to a graph: it takes the builder and the layer's input and returns its output.
type Layer func(b *graph.Builder, x *G.Node) (*G.Node, error)

// Sequential applies layers in order, as Keras' Sequential, stopping at the first error.
func Sequential(ls ...Layer) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) {
		var err error
		for _, l := range ls {
			if x, err = l(b, x); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
}

// Activation is applied after a layer's affine map.
type Activation int

const (
	// Linear applies nothing.
	Linear Activation = iota
	// ReLU applies max(x, 0).
	ReLU
)

// activate applies act to x.
func activate(x *G.Node, act Activation) (*G.Node, error) {
	switch act {
	case Linear:
		return x, nil
	case ReLU:
		return G.ApplyOp(graph.ReLU{}, x)
	}
	return nil, fmt.Errorf("unknown activation %d", act)
}

// ConvOptions configures Conv2D. Zero values give Keras' defaults where Keras has one.
type ConvOptions struct {
	Filters    int
	Kernel     int // square kernel size
	Stride     int // default 1
	Padding    graph.PaddingMode
	Activation Activation
	NoBias     bool
	KernelInit graph.Initializer // default Glorot uniform
	Name       string            // default conv2d, conv2d_1, …
}

// Conv2D is Keras' Conv2D on NCHW input: a cross-correlation with a (Filters, C, K, K) kernel named
// "<name>/kernel", plus a bias "<name>/bias", then the activation.
func Conv2D(o ConvOptions) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return conv2D(b, x, o) }
}

func conv2D(b *graph.Builder, x *G.Node, o ConvOptions) (*G.Node, error) {
	name := o.Name
	if name == "" {
		name = b.UniqueName("conv2d")
	}
	s := x.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("%s: %w: input %v must be NCHW", name, graph.ErrShape, s)
	}
	stride := max(o.Stride, 1)
	if o.Filters <= 0 || o.Kernel <= 0 {
		return nil, fmt.Errorf("%s: filters %d and kernel size %d must be positive", name, o.Filters, o.Kernel)
	}
	pad, err := graph.Pad2D(o.Padding, s[2], s[3], o.Kernel, o.Kernel, stride, stride)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	init := o.KernelInit
	if init == nil {
		init = graph.GlorotUniform{}
	}
	c, k := s[1], o.Kernel
	w, err := b.Param(name+"/kernel", tensor.Shape{o.Filters, c, k, k}, init, c*k*k, o.Filters*k*k, true)
	if err != nil {
		return nil, err
	}
	y, err := G.ApplyOp(graph.Conv2D{StrideH: stride, StrideW: stride, Pad: pad}, x, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	params := o.Filters * c * k * k
	if !o.NoBias {
		bias, err := b.Param(name+"/bias", tensor.Shape{o.Filters}, graph.Zeros, 0, 0, true)
		if err != nil {
			return nil, err
		}
		if y, err = G.ApplyOp(graph.BiasAdd{}, y, bias); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		params += o.Filters
	}
	if y, err = activate(y, o.Activation); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "Conv2D", y, params)
	return y, nil
}

// DenseOptions configures Dense.
type DenseOptions struct {
	Units      int
	Activation Activation
	KernelInit graph.Initializer // default Glorot uniform
	Name       string            // default dense, dense_1, …
}

// Dense is Keras' Dense on (N, In) input: x·kernel + bias with kernel (In, Units), then the activation.
func Dense(o DenseOptions) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return dense(b, x, o) }
}

func dense(b *graph.Builder, x *G.Node, o DenseOptions) (*G.Node, error) {
	name := o.Name
	if name == "" {
		name = b.UniqueName("dense")
	}
	s := x.Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("%s: %w: input %v must be (N, features); flatten first", name, graph.ErrShape, s)
	}
	if o.Units <= 0 {
		return nil, fmt.Errorf("%s: units %d must be positive", name, o.Units)
	}
	init := o.KernelInit
	if init == nil {
		init = graph.GlorotUniform{}
	}
	w, err := b.Param(name+"/kernel", tensor.Shape{s[1], o.Units}, init, s[1], o.Units, true)
	if err != nil {
		return nil, err
	}
	bias, err := b.Param(name+"/bias", tensor.Shape{o.Units}, graph.Zeros, 0, 0, true)
	if err != nil {
		return nil, err
	}
	y, err := G.ApplyOp(graph.Dense{}, x, w, bias)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if y, err = activate(y, o.Activation); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "Dense", y, s[1]*o.Units+o.Units)
	return y, nil
}

// PoolOptions configures MaxPool2D and AvgPool2D.
type PoolOptions struct {
	Size    int // square window, default 2
	Stride  int // default Size, as Keras
	Padding graph.PaddingMode
	Name    string
}

func (o PoolOptions) window(x *G.Node) (graph.Window, error) {
	size := o.Size
	if size <= 0 {
		size = 2
	}
	stride := o.Stride
	if stride <= 0 {
		stride = size
	}
	s := x.Shape()
	if len(s) != 4 {
		return graph.Window{}, fmt.Errorf("%w: input %v must be NCHW", graph.ErrShape, s)
	}
	pad, err := graph.Pad2D(o.Padding, s[2], s[3], size, size, stride, stride)
	if err != nil {
		return graph.Window{}, err
	}
	return graph.Window{KH: size, KW: size, StrideH: stride, StrideW: stride, Pad: pad}, nil
}

// MaxPool2D is Keras' MaxPooling2D.
func MaxPool2D(o PoolOptions) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return maxPool2D(b, x, o) }
}

func maxPool2D(b *graph.Builder, x *G.Node, o PoolOptions) (*G.Node, error) {
	name := o.Name
	if name == "" {
		name = b.UniqueName("max_pooling2d")
	}
	w, err := o.window(x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	y, err := G.ApplyOp(graph.MaxPool2D{Window: w}, x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "MaxPooling2D", y, 0)
	return y, nil
}

// AvgPool2D is Keras' AveragePooling2D.
func AvgPool2D(o PoolOptions) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return avgPool2D(b, x, o) }
}

func avgPool2D(b *graph.Builder, x *G.Node, o PoolOptions) (*G.Node, error) {
	name := o.Name
	if name == "" {
		name = b.UniqueName("average_pooling2d")
	}
	w, err := o.window(x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	y, err := G.ApplyOp(graph.AvgPool2D{Window: w}, x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "AveragePooling2D", y, 0)
	return y, nil
}

// Dropout is Keras' Dropout: in a training graph it zeroes a fraction rate of its input and scales the
// rest; in an evaluation graph it is the identity.
func Dropout(rate float64) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return dropout(b, x, rate) }
}

func dropout(b *graph.Builder, x *G.Node, rate float64) (*G.Node, error) {
	name := b.UniqueName("dropout")
	if !(rate >= 0 && rate < 1) {
		return nil, fmt.Errorf("%s: rate %g must be in [0, 1)", name, rate)
	}
	y := x
	if b.Training() && rate > 0 {
		var err error
		y, err = G.ApplyOp(graph.Dropout{Rate: rate, Seed: b.SeedFor(name)}, x, b.Step())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	b.Record(b.In(name).Prefix(), "Dropout", y, 0)
	return y, nil
}

// Flatten is Keras' Flatten: (N, C, H, W) to (N, C·H·W). fovea flattens in NCHW order.
func Flatten() Layer { return flatten }

func flatten(b *graph.Builder, x *G.Node) (*G.Node, error) {
	name := b.UniqueName("flatten")
	s := x.Shape()
	if len(s) < 2 {
		return nil, fmt.Errorf("%s: %w: input %v has no batch axis", name, graph.ErrShape, s)
	}
	y := x
	if len(s) > 2 {
		var err error
		to := tensor.Shape{s[0], s.TotalSize() / s[0]}
		if y, err = G.ApplyOp(graph.Reshape{From: s, To: to}, x); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	b.Record(b.In(name).Prefix(), "Flatten", y, 0)
	return y, nil
}

// Activate applies an activation as its own layer.
func Activate(act Activation) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return activation(b, x, act) }
}

func activation(b *graph.Builder, x *G.Node, act Activation) (*G.Node, error) {
	name := b.UniqueName("activation")
	y, err := activate(x, act)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "Activation", y, 0)
	return y, nil
}
