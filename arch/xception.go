package arch

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"fovea/data"
	"fovea/graph"
	"fovea/graph/layers"
)

// Xception is the backbone of Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions"
// (2017), without its top, layer for layer as Keras' applications/xception.py builds it:
//
//	entry flow:  Conv 32 3×3 stride 2 VALID → BN → ReLU → Conv 64 3×3 VALID → BN → ReLU
//	             blocks 2–4 (128, 256, 728 filters): [ReLU] SepConv → BN → ReLU → SepConv → BN →
//	             MaxPool 3×3 stride 2 SAME, plus a 1×1 stride-2 Conv → BN shortcut
//	middle flow: blocks 5–12, each three ReLU → SepConv 728 → BN, plus the identity
//	exit flow:   block 13 as the entry blocks (728, 1024 filters), then SepConv 1536 → BN → ReLU →
//	             SepConv 2048 → BN → ReLU
//
// Every separable convolution is 3×3, SAME, without bias; every BN has Keras' epsilon 1e-3 and momentum
// 0.99. Layers carry Keras' names (block1_conv1, block2_sepconv1_bn, …), so parameter names are Keras'
// weight names ("block2_sepconv1/depthwise_kernel"); the four shortcut layers, which Keras names
// automatically, are conv2d, conv2d_1, conv2d_2, conv2d_3 and batch_normalization … _3, created in
// Keras' order. At 299×299×3 it has Keras' 20,861,480 parameters, 54,528 of them non-trainable.
//
// Height and Width give the input size; zero means Keras' default 299×299. Keras accepts 71×71 and up.
type Xception struct {
	Height, Width int
}

// xceptionMinSize is the smallest input side Keras' Xception accepts.
const xceptionMinSize = 71

func (m Xception) Name() string { return "xception" }

// InputShape is (3, Height, Width), 299×299 by default.
func (m Xception) InputShape() (c, h, w int) {
	return 3, orDefault(m.Height, 299), orDefault(m.Width, 299)
}

// Preprocessing is Keras' xception.preprocess_input: x/127.5 − 1 per channel, RGB.
func (m Xception) Preprocessing() data.ChannelNorm { return data.ScaleToUnit(3) }

// Features adds the network to b and returns block14_sepconv2_act: (N, 2048, H', W'), 10×10 at 299×299
// and 7×7 at 224×224.
func (m Xception) Features(b *graph.Builder, x *G.Node) (*G.Node, error) {
	if err := checkImages("xception", x, xceptionMinSize); err != nil {
		return nil, err
	}
	x, err := layers.Sequential(
		xconv("block1_conv1", 32, 3, 2, graph.Valid), xbn("block1_conv1_bn"), relu("block1_conv1_act"),
		xconv("block1_conv2", 64, 3, 1, graph.Valid), xbn("block1_conv2_bn"), relu("block1_conv2_act"),
	)(b, x)
	if err != nil {
		return nil, err
	}
	// Entry flow: blocks 2–4. Block 2 follows a ReLU already, so it starts with its convolution.
	for i, filters := range []int{128, 256, 728} {
		if x, err = xceptionReduction(b, x, i+2, filters, filters, i > 0, i); err != nil {
			return nil, err
		}
	}
	// Middle flow: blocks 5–12.
	for block := 5; block <= 12; block++ {
		p := fmt.Sprintf("block%d_sepconv", block)
		y, err := layers.Sequential(
			sepConvBN(p+"1", 728, true), sepConvBN(p+"2", 728, true), sepConvBN(p+"3", 728, true),
		)(b, x)
		if err != nil {
			return nil, err
		}
		if x, err = layers.Add(b, y, x); err != nil {
			return nil, err
		}
	}
	// Exit flow: block 13, then block 14, whose activations follow its convolutions.
	if x, err = xceptionReduction(b, x, 13, 728, 1024, true, 3); err != nil {
		return nil, err
	}
	return layers.Sequential(
		sepConvBN("block14_sepconv1", 1536, false), relu("block14_sepconv1_act"),
		sepConvBN("block14_sepconv2", 2048, false), relu("block14_sepconv2_act"),
	)(b, x)
}

// xceptionReduction is an entry-flow block (and block 13): two separable convolutions with BN, the
// first filters1 and the second filters2 wide, max pooling 3×3 stride 2 SAME, plus the shortcut
// conv2d_<i> (1×1 stride 2 SAME, no bias) → batch_normalization_<i>. Keras creates the shortcut first.
func xceptionReduction(b *graph.Builder, x *G.Node, block, filters1, filters2 int, firstReLU bool, shortcut int) (*G.Node, error) {
	suffix := ""
	if shortcut > 0 {
		suffix = fmt.Sprintf("_%d", shortcut)
	}
	residual, err := layers.Sequential(
		xconv("conv2d"+suffix, filters2, 1, 2, graph.Same), xbn("batch_normalization"+suffix),
	)(b, x)
	if err != nil {
		return nil, err
	}
	p := fmt.Sprintf("block%d_", block)
	y, err := layers.Sequential(
		sepConvBN(p+"sepconv1", filters1, firstReLU), sepConvBN(p+"sepconv2", filters2, true),
		layers.MaxPool2D(layers.PoolOptions{Size: 3, Stride: 2, Padding: graph.Same, Name: p + "pool"}),
	)(b, x)
	if err != nil {
		return nil, err
	}
	return layers.Add(b, y, residual)
}

// sepConvBN is Xception's unit: ReLU "<name>_act" (when preReLU), SeparableConv2D "<name>" (3×3, SAME,
// no bias), BatchNormalization "<name>_bn".
func sepConvBN(name string, filters int, preReLU bool) layers.Layer {
	var ls []layers.Layer
	if preReLU {
		ls = append(ls, relu(name+"_act"))
	}
	ls = append(ls,
		layers.SeparableConv2D(layers.SeparableOptions{Filters: filters, Kernel: 3, Padding: graph.Same, NoBias: true, Name: name}),
		xbn(name+"_bn"))
	return layers.Sequential(ls...)
}

// xconv is one of Xception's plain convolutions: no bias.
func xconv(name string, filters, kernel, stride int, mode graph.PaddingMode) layers.Layer {
	return layers.Conv2D(layers.ConvOptions{Filters: filters, Kernel: kernel, Stride: stride, Padding: mode, NoBias: true, Name: name})
}

// xbn is Keras' default BatchNormalization (momentum 0.99, epsilon 1e-3), which Xception uses throughout.
func xbn(name string) layers.Layer {
	return layers.BatchNorm(layers.BatchNormOptions{Momentum: 0.99, Epsilon: 1e-3, Name: name})
}

// relu is a named ReLU activation layer.
func relu(name string) layers.Layer { return layers.NamedActivation(name, layers.ReLU) }

// orDefault is v, or def when v is zero.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// checkImages checks that x is a batch of 3-channel NCHW images at least minSize pixels on each side, as
// ImageNet backbones with pretrained weights require.
func checkImages(model string, x *G.Node, minSize int) error {
	s := x.Shape()
	if len(s) != 4 || s[1] != 3 {
		return fmt.Errorf("%s: %w: input %v, want (N, 3, H, W) RGB images", model, graph.ErrShape, s)
	}
	if s[2] < minSize || s[3] < minSize {
		return fmt.Errorf("%s: %w: input %dx%d is smaller than the minimum %dx%d", model, graph.ErrShape, s[2], s[3], minSize, minSize)
	}
	return nil
}
