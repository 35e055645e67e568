package arch

import (
	G "gorgonia.org/gorgonia"

	"fovea/graph"
	"fovea/graph/layers"
)

// FashionCNN is the convolutional network of Géron's Hands-On Machine Learning, chapter 14, for
// Fashion-MNIST (28×28×1, 10 classes): 1,413,834 parameters.
//
//	DefaultConv2D = partial(Conv2D, kernel_size=3, activation="relu", padding="SAME")
//	Conv 64 k7 → MaxPool 2 → Conv 128 → Conv 128 → MaxPool 2 → Conv 256 → Conv 256 → MaxPool 2 →
//	Flatten → Dense 128 relu → Dropout 0.5 → Dense 64 relu → Dropout 0.5 → Dense 10
type FashionCNN struct {
	// KernelInit overrides the kernels' initialiser (Keras' default, Glorot uniform, when nil).
	KernelInit graph.Initializer
}

func (FashionCNN) Name() string              { return "fashion-cnn" }
func (FashionCNN) InputShape() (c, h, w int) { return 1, 28, 28 }
func (FashionCNN) Classes() int              { return 10 }

func (m FashionCNN) Build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	conv := func(filters, kernel int) layers.Layer {
		return layers.Conv2D(layers.ConvOptions{Filters: filters, Kernel: kernel, Padding: graph.Same,
			Activation: layers.ReLU, KernelInit: m.KernelInit})
	}
	pool := layers.MaxPool2D(layers.PoolOptions{Size: 2})
	dense := func(units int, act layers.Activation) layers.Layer {
		return layers.Dense(layers.DenseOptions{Units: units, Activation: act, KernelInit: m.KernelInit})
	}
	return layers.Sequential(
		conv(64, 7), pool,
		conv(128, 3), conv(128, 3), pool,
		conv(256, 3), conv(256, 3), pool,
		layers.Flatten(),
		dense(128, layers.ReLU), layers.Dropout(0.5),
		dense(64, layers.ReLU), layers.Dropout(0.5),
		dense(10, layers.Linear),
	)(b, x)
}

// FashionFCN is a fully connected network for Fashion-MNIST, as in Géron's chapter 10:
// Flatten → Dense 300 relu → Dense 100 relu → Dense 10 (266,610 parameters).
type FashionFCN struct {
	KernelInit graph.Initializer
}

func (FashionFCN) Name() string              { return "fashion-fcn" }
func (FashionFCN) InputShape() (c, h, w int) { return 1, 28, 28 }
func (FashionFCN) Classes() int              { return 10 }

func (m FashionFCN) Build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	dense := func(units int, act layers.Activation) layers.Layer {
		return layers.Dense(layers.DenseOptions{Units: units, Activation: act, KernelInit: m.KernelInit})
	}
	return layers.Sequential(
		layers.Flatten(),
		dense(300, layers.ReLU),
		dense(100, layers.ReLU),
		dense(10, layers.Linear),
	)(b, x)
}
