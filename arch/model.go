// Package arch defines fovea's model architectures as functions that add layers to a graph.Builder.
// Each file reads like the paper or book it follows; the package holds no weights and no training code.
package arch

import (
	G "gorgonia.org/gorgonia"

	"fovea/graph"
)

// Model is an architecture: given a builder and a batch of NCHW images, it adds its layers and returns
// the class logits (N, Classes).
type Model interface {
	// Name is the model's short name ("fashion-cnn").
	Name() string
	// InputShape is the (C, H, W) of one input image.
	InputShape() (c, h, w int)
	// Classes is the number of output logits.
	Classes() int
	// Build adds the model to b's graph.
	Build(b *graph.Builder, x *G.Node) (*G.Node, error)
}
