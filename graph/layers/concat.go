package layers

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"fovea/graph"
)

// Concat is Keras' Concatenate on the channel axis: it joins two or more NCHW branches (or (N, C)
// feature matrices) channel-wise, in argument order. An empty name gives concatenate,
// concatenate_1, …; the name is qualified by b's scope.
func Concat(b *graph.Builder, name string, xs ...*G.Node) (*G.Node, error) {
	if name == "" {
		name = b.UniqueName("concatenate")
	}
	if len(xs) < 2 {
		return nil, fmt.Errorf("%s: concatenating %d inputs, need at least 2", name, len(xs))
	}
	for i, x := range xs {
		if x == nil {
			return nil, fmt.Errorf("%s: input %d is nil", name, i)
		}
		if s := x.Shape(); len(s) < 2 {
			return nil, fmt.Errorf("%s: %w: input %d %v has no channel axis", name, graph.ErrShape, i, s)
		}
	}
	y, err := G.ApplyOp(graph.Concat{Axis: 1, N: len(xs)}, xs...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "Concatenate", y, 0)
	return y, nil
}
