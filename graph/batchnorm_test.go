package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// positive adds a float64 input with entries in [0.5, 1.5) (variances must be positive).
func positive(g *G.ExprGraph, rng *rand.Rand, name string, shape ...int) *G.Node {
	d := randDense(rng, shape...)
	for i, v := range d.Float64s() {
		d.Float64s()[i] = 1 + v/2
	}
	return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(d))
}

func TestBatchNormGradients(t *testing.T) {
	train := func(shape ...int) func(*G.ExprGraph, *rand.Rand) (*G.Node, G.Nodes, error) {
		return func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			c := shape[1]
			x, gamma, beta := input(g, rng, "x", shape...), input(g, rng, "gamma", c), input(g, rng, "beta", c)
			y, err := G.ApplyOp(BatchNormTrain{Eps: 1e-3}, x, gamma, beta)
			return y, G.Nodes{x, gamma, beta}, err
		}
	}
	infer := func(shape ...int) func(*G.ExprGraph, *rand.Rand) (*G.Node, G.Nodes, error) {
		return func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			c := shape[1]
			x, gamma, beta := input(g, rng, "x", shape...), input(g, rng, "gamma", c), input(g, rng, "beta", c)
			mean, variance := input(g, rng, "mean", c), positive(g, rng, "var", c)
			y, err := G.ApplyOp(BatchNormInfer{Eps: 1e-3}, x, gamma, beta, mean, variance)
			return y, G.Nodes{x, gamma, beta}, err
		}
	}
	checkGradients(t, []gradCase{
		{name: "train NCHW", build: train(3, 2, 3, 2), tol: 1e-5},
		{name: "train (N, C)", build: train(5, 3), tol: 1e-5},
		{name: "infer NCHW", build: infer(2, 3, 2, 2)},
		{name: "GlobalAvgPool", build: unary(GlobalAvgPool{}, 2, 3, 2, 3)},
	})
}

// TestBatchNormTrainNormalises checks the training form's output: per channel, mean β and standard
// deviation γ·σ/√(σ²+ε); and BatchStats' mean and biased variance against a direct computation.
func TestBatchNormTrainNormalises(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, c, hw := 4, 3, 5
	x := randDense(rng, n, c, 1, hw)
	for i := range x.Float64s() {
		x.Float64s()[i] = 3*x.Float64s()[i] + 2
	}
	gamma := tensor.New(tensor.WithShape(c), tensor.WithBacking([]float64{1, 2, 0.5}))
	beta := tensor.New(tensor.WithShape(c), tensor.WithBacking([]float64{0, -1, 3}))
	out, err := BatchNormTrain{Eps: 1e-3}.Do(x, gamma, beta)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := BatchStats{Rank: 4}.Do(x)
	if err != nil {
		t.Fatal(err)
	}
	y, st := out.(*tensor.Dense).Float64s(), stats.(*tensor.Dense).Float64s()
	for ch := 0; ch < c; ch++ {
		var xs, ys []float64
		for i := 0; i < n; i++ {
			xs = append(xs, x.Float64s()[(i*c+ch)*hw:(i*c+ch+1)*hw]...)
			ys = append(ys, y[(i*c+ch)*hw:(i*c+ch+1)*hw]...)
		}
		mx, vx := meanVar(xs)
		if math.Abs(st[ch]-mx) > 1e-12 || math.Abs(st[c+ch]-vx) > 1e-12 {
			t.Fatalf("channel %d: stats (%g, %g), want (%g, %g)", ch, st[ch], st[c+ch], mx, vx)
		}
		my, vy := meanVar(ys)
		g, b := gamma.Float64s()[ch], beta.Float64s()[ch]
		if math.Abs(my-b) > 1e-9 || math.Abs(math.Sqrt(vy)-math.Abs(g)*math.Sqrt(vx/(vx+1e-3))) > 1e-9 {
			t.Fatalf("channel %d: output mean %g std %g", ch, my, math.Sqrt(vy))
		}
	}
}

func meanVar(v []float64) (float64, float64) {
	var s, ss float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, ss / float64(len(v))
}
