package layers

import (
	"fmt"

	G "gorgonia.org/gorgonia"

	"fovea/graph"
)

// DepthwiseMaxPool pools across channels: at every pixel it keeps the maximum of each group of k
// consecutive channels, so (N, C, H, W) becomes (N, C/k, H, W). It is tf.nn.max_pool with ksize
// (1, 1, 1, k) and strides (1, 1, 1, k) on NHWC (Keras has no layer for it; Géron wraps that call in a
// Lambda layer). C must be divisible by k.
func DepthwiseMaxPool(k int) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return depthwiseMaxPool(b, x, k) }
}

func depthwiseMaxPool(b *graph.Builder, x *G.Node, k int) (*G.Node, error) {
	name := b.UniqueName("depthwise_max_pooling")
	if k <= 0 {
		return nil, fmt.Errorf("%s: pool size %d must be positive", name, k)
	}
	y, err := G.ApplyOp(graph.DepthwiseMaxPool{K: k}, x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "DepthwiseMaxPool", y, 0)
	return y, nil
}
