package arch

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"fovea/graph"
	"fovea/graph/layers"
)

// ResNet is a residual network as Géron builds ResNet-34 in Keras (Hands-On ML, ch. 14), after He et
// al., "Deep Residual Learning for Image Recognition" (2015):
//
//	stem:  Conv 64 7×7 stride 2 SAME (no bias) → BN → ReLU → MaxPool 3×3 stride 2 SAME
//	body:  residual units of 3×3 convolutions; each stage doubles the filters and halves the
//	       resolution in its first unit (stride 2, with a 1×1 projection + BN shortcut)
//	head:  GlobalAvgPool → Dense(classes)
//
// Stages gives the number of units per stage, at 64, 128, 256 and 512 filters.
type ResNet struct {
	Label                   string
	Stages                  []int
	Channels, Height, Width int
	NumClasses              int
}

// ResNet34 is the 34-layer network, [3, 4, 6, 3] residual units, for c×h×w inputs and the given number
// of classes. At 224×224×3 with 10 classes it has Keras' 21,306,826 parameters, 17,024 non-trainable.
func ResNet34(c, h, w, classes int) ResNet {
	return ResNet{Label: "resnet34", Stages: []int{3, 4, 6, 3}, Channels: c, Height: h, Width: w, NumClasses: classes}
}

func (m ResNet) Name() string              { return m.Label }
func (m ResNet) InputShape() (c, h, w int) { return m.Channels, m.Height, m.Width }
func (m ResNet) Classes() int              { return m.NumClasses }

// conv is the book's DefaultConv2D: 3×3 unless given, stride 1 unless given, SAME padding, no bias.
func conv(filters, kernel, stride int) layers.Layer {
	return layers.Conv2D(layers.ConvOptions{Filters: filters, Kernel: kernel, Stride: stride, Padding: graph.Same, NoBias: true})
}

func (m ResNet) Build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	if len(m.Stages) > 4 {
		return nil, fmt.Errorf("%s: at most 4 stages, got %d", m.Label, len(m.Stages))
	}
	x, err := layers.Sequential(
		conv(64, 7, 2), layers.BatchNorm(layers.BatchNormOptions{}), layers.Activate(layers.ReLU),
		layers.MaxPool2D(layers.PoolOptions{Size: 3, Stride: 2, Padding: graph.Same}),
	)(b, x)
	if err != nil {
		return nil, err
	}
	prev := 64
	for stage, units := range m.Stages {
		filters := 64 << stage
		for u := 0; u < units; u++ {
			stride := 1
			if filters != prev {
				stride = 2
			}
			if x, err = residualUnit(b.In(b.UniqueName("residual_unit")), x, filters, stride); err != nil {
				return nil, err
			}
			prev = filters
		}
	}
	return layers.Sequential(
		layers.GlobalAvgPool2D(),
		layers.Dense(layers.DenseOptions{Units: m.NumClasses}),
	)(b, x)
}

// residualUnit is ReLU(main(x) + skip(x)): main is Conv-BN-ReLU-Conv-BN; skip is the identity, or a
// strided 1×1 Conv-BN projection when the unit changes the resolution.
func residualUnit(b *graph.Builder, x *G.Node, filters, stride int) (*G.Node, error) {
	bn := layers.BatchNorm(layers.BatchNormOptions{})
	main, err := layers.Sequential(
		conv(filters, 3, stride), bn, layers.Activate(layers.ReLU),
		conv(filters, 3, 1), bn,
	)(b, x)
	if err != nil {
		return nil, err
	}
	skip := x
	if stride > 1 {
		if skip, err = layers.Sequential(conv(filters, 1, stride), bn)(b, x); err != nil {
			return nil, err
		}
	}
	sum, err := layers.Add(b, main, skip)
	if err != nil {
		return nil, err
	}
	return layers.Activate(layers.ReLU)(b, sum)
}
