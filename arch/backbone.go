package arch

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"fovea/data"
	"fovea/graph"
	"fovea/graph/layers"
)

// Backbone is a feature extractor without its classification top, for transfer learning: given a batch
// of preprocessed NCHW images it returns feature maps (N, C, H, W).
type Backbone interface {
	Name() string
	InputShape() (c, h, w int)
	// Preprocessing is how raw 8-bit RGB pixels must be normalised for the backbone's weights.
	Preprocessing() data.ChannelNorm
	Features(b *graph.Builder, x *G.Node) (*G.Node, error)
}

// Classifier puts the transfer-learning head of Géron's chapter 14 on a backbone:
// GlobalAvgPool → Dropout → Dense(classes). The head's layers live under the name scope "head/"
// (its parameters are head/dense/kernel and head/dense/bias), so they never collide with the
// backbone's names and freezing "everything but head/" is one prefix.
type Classifier struct {
	Backbone   Backbone
	NumClasses int
	Dropout    float64
}

func (m Classifier) Name() string              { return m.Backbone.Name() }
func (m Classifier) InputShape() (c, h, w int) { return m.Backbone.InputShape() }
func (m Classifier) Classes() int              { return m.NumClasses }

func (m Classifier) Build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	if m.NumClasses <= 0 {
		return nil, fmt.Errorf("%s classifier: %d classes", m.Backbone.Name(), m.NumClasses)
	}
	f, err := m.Backbone.Features(b, x)
	if err != nil {
		return nil, err
	}
	head := []layers.Layer{layers.GlobalAvgPool2D()}
	if m.Dropout > 0 {
		head = append(head, layers.Dropout(m.Dropout))
	}
	head = append(head, layers.Dense(layers.DenseOptions{Units: m.NumClasses}))
	return layers.Sequential(head...)(b.In("head"), f)
}
