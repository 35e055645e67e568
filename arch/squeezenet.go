package arch

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"fovea/data"
	"fovea/graph"
	"fovea/graph/layers"
)

// SqueezeNet is SqueezeNet v1.1 (Iandola et al., "SqueezeNet: AlexNet-level accuracy with 50x fewer
// parameters and <0.5MB model size", 2016; v1.1 from the authors' repository) without its top, in the
// layout of the Keras port (rcmalli/keras-squeezenet) whose ImageNet weights fovea imports:
//
//	conv1 64 3×3 stride 2 VALID → ReLU → pool1 (max 3×3 stride 2 VALID)
//	fire2 (16, 64), fire3 (16, 64) → pool3 → fire4 (32, 128), fire5 (32, 128) → pool5 →
//	fire6 (48, 192), fire7 (48, 192), fire8 (64, 256), fire9 (64, 256)
//
// A fire module (squeeze s, expand e) is squeeze1x1 (s 1×1 filters) → ReLU, then expand1x1 (e 1×1) and
// expand3x3 (e 3×3 SAME), each → ReLU, concatenated on channels as [expand1x1, expand3x3]. Every
// convolution has a bias. Layer names are the port's ("fire2/squeeze1x1", "fire2/relu_squeeze1x1"),
// so parameters are named "fire2/squeeze1x1/kernel" and "…/bias". It has 722,496 parameters.
//
// Height and Width give the input size; zero means the port's default 227×227. The port accepts 48×48
// and up.
type SqueezeNet struct {
	Height, Width int
}

// squeezeNetMinSize is the smallest input side the Keras port accepts.
const squeezeNetMinSize = 48

func (m SqueezeNet) Name() string { return "squeezenet" }

// InputShape is (3, Height, Width), 227×227 by default.
func (m SqueezeNet) InputShape() (c, h, w int) {
	return 3, orDefault(m.Height, 227), orDefault(m.Width, 227)
}

// Preprocessing is the Caffe model's: BGR, ImageNet mean subtracted, no scaling.
func (m SqueezeNet) Preprocessing() data.ChannelNorm { return data.CaffeBGR() }

// Features adds the network to b and returns fire9/concat: (N, 512, H', W'), 13×13 at 227×227 and at
// 224×224.
func (m SqueezeNet) Features(b *graph.Builder, x *G.Node) (*G.Node, error) {
	if err := checkImages("squeezenet", x, squeezeNetMinSize); err != nil {
		return nil, err
	}
	x, err := layers.Sequential(
		layers.Conv2D(layers.ConvOptions{Filters: 64, Kernel: 3, Stride: 2, Padding: graph.Valid, Name: "conv1"}),
		relu("relu_conv1"),
		layers.MaxPool2D(layers.PoolOptions{Size: 3, Stride: 2, Padding: graph.Valid, Name: "pool1"}),
	)(b, x)
	if err != nil {
		return nil, err
	}
	// Fire modules 2–9: squeeze and expand widths, and whether max pooling follows.
	fires := []struct {
		squeeze, expand int
		poolAfter       bool
	}{
		{16, 64, false}, {16, 64, true}, // fire2, fire3 → pool3
		{32, 128, false}, {32, 128, true}, // fire4, fire5 → pool5
		{48, 192, false}, {48, 192, false}, {64, 256, false}, {64, 256, false}, // fire6 – fire9
	}
	for i, f := range fires {
		if x, err = fire(b.In(fmt.Sprintf("fire%d", i+2)), x, f.squeeze, f.expand); err != nil {
			return nil, err
		}
		if f.poolAfter {
			pool := layers.MaxPool2D(layers.PoolOptions{Size: 3, Stride: 2, Padding: graph.Valid, Name: fmt.Sprintf("pool%d", i+2)})
			if x, err = pool(b, x); err != nil {
				return nil, err
			}
		}
	}
	return x, nil
}

// fire is a fire module, its layers named under b's scope ("fire2/…").
func fire(b *graph.Builder, x *G.Node, squeeze, expand int) (*G.Node, error) {
	conv := func(name string, filters, kernel int, mode graph.PaddingMode) layers.Layer {
		return layers.Conv2D(layers.ConvOptions{Filters: filters, Kernel: kernel, Padding: mode, Name: name})
	}
	s, err := layers.Sequential(conv("squeeze1x1", squeeze, 1, graph.Valid), relu("relu_squeeze1x1"))(b, x)
	if err != nil {
		return nil, err
	}
	e1, err := conv("expand1x1", expand, 1, graph.Valid)(b, s)
	if err != nil {
		return nil, err
	}
	e3, err := conv("expand3x3", expand, 3, graph.Same)(b, s)
	if err != nil {
		return nil, err
	}
	// The port applies both ReLUs after both convolutions; the order does not change any value.
	if e1, err = relu("relu_expand1x1")(b, e1); err != nil {
		return nil, err
	}
	if e3, err = relu("relu_expand3x3")(b, e3); err != nil {
		return nil, err
	}
	return layers.Concat(b, "concat", e1, e3)
}
