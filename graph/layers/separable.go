package layers

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/graph"
)

// DepthwiseOptions configures DepthwiseConv2D. Zero values give Keras' defaults.
type DepthwiseOptions struct {
	Kernel     int // square kernel size
	Stride     int // default 1
	Padding    graph.PaddingMode
	Multiplier int // depth multiplier M, default 1
	Activation Activation
	NoBias     bool
	KernelInit graph.Initializer // default Glorot uniform
	Name       string            // default depthwise_conv2d, depthwise_conv2d_1, …
}

// DepthwiseConv2D is Keras' DepthwiseConv2D on NCHW input: every input channel convolved with its own
// M filters, kernel "<name>/depthwise_kernel" (C·M, 1, K, K), output channel c·M+m from input channel c
// (Keras' (K, K, C, M) kernel transposed), then a bias "<name>/bias" (C·M) and the activation.
func DepthwiseConv2D(o DepthwiseOptions) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return depthwiseConv2D(b, x, o) }
}

func depthwiseConv2D(b *graph.Builder, x *G.Node, o DepthwiseOptions) (*G.Node, error) {
	name := o.Name
	if name == "" {
		name = b.UniqueName("depthwise_conv2d")
	}
	m := max(o.Multiplier, 1)
	y, err := depthwise(b, x, name, o.Kernel, o.Stride, m, o.Padding, o.KernelInit)
	if err != nil {
		return nil, err
	}
	c, k := x.Shape()[1], o.Kernel
	params := c * m * k * k
	if !o.NoBias {
		if y, err = addBias(b, y, name); err != nil {
			return nil, err
		}
		params += c * m
	}
	if y, err = activate(y, o.Activation); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "DepthwiseConv2D", y, params)
	return y, nil
}

// depthwise adds the kernel "<name>/depthwise_kernel" and applies it. Its initial values are drawn as
// Keras draws them: Keras' kernel is (K, K, C, M), so its fans are K·K·C in and K·K·M out.
func depthwise(b *graph.Builder, x *G.Node, name string, k, stride, m int, mode graph.PaddingMode, init graph.Initializer) (*G.Node, error) {
	s := x.Shape()
	if len(s) != 4 {
		return nil, fmt.Errorf("%s: %w: input %v must be NCHW", name, graph.ErrShape, s)
	}
	if k <= 0 || m <= 0 {
		return nil, fmt.Errorf("%s: kernel size %d and depth multiplier %d must be positive", name, k, m)
	}
	stride = max(stride, 1)
	pad, err := graph.Pad2D(mode, s[2], s[3], k, k, stride, stride)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if init == nil {
		init = graph.GlorotUniform{}
	}
	c := s[1]
	w, err := b.Param(name+"/depthwise_kernel", tensor.Shape{c * m, 1, k, k}, init, k*k*c, k*k*m, true)
	if err != nil {
		return nil, err
	}
	y, err := G.ApplyOp(graph.DepthwiseConv2D{StrideH: stride, StrideW: stride, Pad: pad}, x, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return y, nil
}

// addBias adds the per-channel bias "<name>/bias".
func addBias(b *graph.Builder, y *G.Node, name string) (*G.Node, error) {
	bias, err := b.Param(name+"/bias", tensor.Shape{y.Shape()[1]}, graph.Zeros, 0, 0, true)
	if err != nil {
		return nil, err
	}
	if y, err = G.ApplyOp(graph.BiasAdd{}, y, bias); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return y, nil
}

// SeparableOptions configures SeparableConv2D. Zero values give Keras' defaults.
type SeparableOptions struct {
	Filters       int
	Kernel        int // square kernel size of the depthwise step
	Stride        int // default 1, applied by the depthwise step
	Padding       graph.PaddingMode
	Activation    Activation
	NoBias        bool
	DepthwiseInit graph.Initializer // default Glorot uniform
	PointwiseInit graph.Initializer // default Glorot uniform
	Name          string            // default separable_conv2d, separable_conv2d_1, …
}

// SeparableConv2D is Keras' SeparableConv2D with depth multiplier 1: a depthwise convolution with kernel
// "<name>/depthwise_kernel" (C, 1, K, K), then a pointwise 1×1 convolution with kernel
// "<name>/pointwise_kernel" (Filters, C, 1, 1), then a bias "<name>/bias" (Filters) and the activation.
// Stride and padding apply to the depthwise step, as in TensorFlow's separable_conv2d. It is one layer
// in the summary, with Keras' parameter count K·K·C + C·Filters (+ Filters).
func SeparableConv2D(o SeparableOptions) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return separableConv2D(b, x, o) }
}

func separableConv2D(b *graph.Builder, x *G.Node, o SeparableOptions) (*G.Node, error) {
	name := o.Name
	if name == "" {
		name = b.UniqueName("separable_conv2d")
	}
	if o.Filters <= 0 {
		return nil, fmt.Errorf("%s: filters %d must be positive", name, o.Filters)
	}
	y, err := depthwise(b, x, name, o.Kernel, o.Stride, 1, o.Padding, o.DepthwiseInit)
	if err != nil {
		return nil, err
	}
	init := o.PointwiseInit
	if init == nil {
		init = graph.GlorotUniform{}
	}
	c, k := x.Shape()[1], o.Kernel
	// Keras' pointwise kernel is (1, 1, C, Filters): fans C and Filters.
	pw, err := b.Param(name+"/pointwise_kernel", tensor.Shape{o.Filters, c, 1, 1}, init, c, o.Filters, true)
	if err != nil {
		return nil, err
	}
	if y, err = G.ApplyOp(graph.Conv2D{StrideH: 1, StrideW: 1}, y, pw); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	params := k*k*c + c*o.Filters
	if !o.NoBias {
		if y, err = addBias(b, y, name); err != nil {
			return nil, err
		}
		params += o.Filters
	}
	if y, err = activate(y, o.Activation); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "SeparableConv2D", y, params)
	return y, nil
}
