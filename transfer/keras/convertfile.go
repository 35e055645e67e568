package keras

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/arch"
	"fovea/graph"
	"fovea/training"
)

// BackboneParams builds bb on a batch of one image of its input shape and returns its parameters, in
// creation order.
func BackboneParams(bb arch.Backbone) (*graph.Params, error) {
	g := G.NewGraph()
	params := graph.NewParams()
	b, err := graph.NewBuilder(g, params, graph.BuildOptions{})
	if err != nil {
		return nil, err
	}
	c, h, w := bb.InputShape()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, c, h, w), G.WithName("images"))
	if _, err := bb.Features(b, x); err != nil {
		return nil, fmt.Errorf("build %s: %w", bb.Name(), err)
	}
	return params, nil
}

// Summary counts what a conversion wrote.
type Summary struct {
	Model   string
	Layers  int // Keras layers with weights
	Tensors int
	Values  int // scalars over all tensors
}

// ConvertFile reads the Keras weights file in, converts it onto the backbone bb (whose parameters must
// be exactly the file's weights: a "notop" file) and writes the result to out as a safetensors file,
// atomically.
func ConvertFile(in, out string, bb arch.Backbone) (Summary, error) {
	f, err := ReadWeights(in)
	if err != nil {
		return Summary{}, err
	}
	params, err := BackboneParams(bb)
	if err != nil {
		return Summary{}, err
	}
	tensors, meta, err := Convert(f, params, Options{Model: bb.Name()})
	if err != nil {
		return Summary{}, err
	}
	if err := training.SaveCheckpoint(out, tensors, meta); err != nil {
		return Summary{}, err
	}
	s := Summary{Model: bb.Name(), Layers: len(f.WeightLayers()), Tensors: len(tensors)}
	for _, t := range tensors {
		s.Values += len(t.Data.([]float32))
	}
	return s, nil
}
