package layers

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"fovea/graph"
)

// NamedActivation is Activate with the layer name given, as Keras models name their activation layers
// ("block1_conv1_act", "fire2/relu_squeeze1x1"); the name is qualified by the builder's scope.
func NamedActivation(name string, act Activation) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) {
		n := name
		if n == "" {
			n = b.UniqueName("activation")
		}
		y, err := activate(x, act)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		b.Record(b.In(n).Prefix(), "Activation", y, 0)
		return y, nil
	}
}
