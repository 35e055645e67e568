package layers

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/graph"
)

// BatchNormOptions configures BatchNorm. Zero values take Keras' defaults.
type BatchNormOptions struct {
	Momentum float64 // moving-average momentum, default 0.99
	Epsilon  float64 // default 1e-3
	Name     string  // default batch_normalization, batch_normalization_1, …
}

// BatchNorm is Keras' BatchNormalization over the channel axis (axis 1 of NCHW, or the features of
// (N, C)). Parameters: gamma and beta (trainable), moving_mean and moving_variance (saved, never
// optimised). In a training graph it normalises with batch statistics and registers the moving-average
// updates of its statistics; in an evaluation graph, or when its gamma is frozen (as Keras runs a
// non-trainable BatchNormalization layer), it normalises with the moving statistics.
func BatchNorm(o BatchNormOptions) Layer {
	return func(b *graph.Builder, x *G.Node) (*G.Node, error) { return batchNorm(b, x, o) }
}

func batchNorm(b *graph.Builder, x *G.Node, o BatchNormOptions) (*G.Node, error) {
	name := o.Name
	if name == "" {
		name = b.UniqueName("batch_normalization")
	}
	momentum, eps := o.Momentum, o.Epsilon
	if momentum == 0 {
		momentum = 0.99
	}
	if eps == 0 {
		eps = 1e-3
	}
	s := x.Shape()
	if len(s) < 2 {
		return nil, fmt.Errorf("%s: %w: input %v has no channel axis", name, graph.ErrShape, s)
	}
	c := tensor.Shape{s[1]}
	param := func(p string, init graph.Initializer, trainable bool) (*G.Node, error) {
		return b.Param(name+"/"+p, c, init, 0, 0, trainable)
	}
	gamma, err := param("gamma", graph.Constant(1), true)
	if err != nil {
		return nil, err
	}
	beta, err := param("beta", graph.Zeros, true)
	if err != nil {
		return nil, err
	}
	mean, err := param("moving_mean", graph.Zeros, false)
	if err != nil {
		return nil, err
	}
	variance, err := param("moving_variance", graph.Constant(1), false)
	if err != nil {
		return nil, err
	}
	full := b.In(name).Prefix()
	gammaParam, _ := b.ParamByName(full + "/gamma")
	var y *G.Node
	if b.Training() && gammaParam.Trainable {
		if y, err = G.ApplyOp(graph.BatchNormTrain{Eps: eps}, x, gamma, beta); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		stats, err := G.ApplyOp(graph.BatchStats{Rank: len(s)}, x)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		mp, _ := b.ParamByName(full + "/moving_mean")
		vp, _ := b.ParamByName(full + "/moving_variance")
		b.AddStateUpdate(graph.StateUpdate{Param: mp, Value: stats, Offset: 0, Momentum: momentum})
		b.AddStateUpdate(graph.StateUpdate{Param: vp, Value: stats, Offset: s[1], Momentum: momentum})
	} else if y, err = G.ApplyOp(graph.BatchNormInfer{Eps: eps}, x, gamma, beta, mean, variance); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(full, "BatchNormalization", y, 4*s[1])
	return y, nil
}

// GlobalAvgPool2D is Keras' GlobalAveragePooling2D: (N, C, H, W) to (N, C).
func GlobalAvgPool2D() Layer { return globalAvgPool }

func globalAvgPool(b *graph.Builder, x *G.Node) (*G.Node, error) {
	name := b.UniqueName("global_average_pooling2d")
	y, err := G.ApplyOp(graph.GlobalAvgPool{}, x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "GlobalAveragePooling2D", y, 0)
	return y, nil
}

// Add sums two branches elementwise (a residual connection).
func Add(b *graph.Builder, x, y *G.Node) (*G.Node, error) {
	name := b.UniqueName("add")
	z, err := G.ApplyOp(graph.Add{}, x, y)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	b.Record(b.In(name).Prefix(), "Add", z, 0)
	return z, nil
}
