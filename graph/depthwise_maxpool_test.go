package graph

import (
	"errors"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestDepthwiseMaxPoolGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		{name: "k=3 RGB-like", build: unary(DepthwiseMaxPool{K: 3}, 2, 3, 3, 4)},
		{name: "k=3 two groups", build: unary(DepthwiseMaxPool{K: 3}, 2, 6, 2, 3)},
		{name: "k=2", build: unary(DepthwiseMaxPool{K: 2}, 1, 4, 3, 3)},
		{name: "k=1 identity", build: unary(DepthwiseMaxPool{K: 1}, 1, 2, 2, 2)},
	})
}

// TestDepthwiseMaxPoolGolden pools the three channels of a 2×3 RGB image: the result must be, at every
// pixel, the largest of its red, green and blue values (read off the planes below by hand).
func TestDepthwiseMaxPoolGolden(t *testing.T) {
	rgb := []float64{
		// red
		0.9, 0.1, 0.2,
		0.0, 0.5, -1,
		// green
		0.3, 0.8, 0.2,
		0.0, 0.6, -3,
		// blue
		0.1, 0.7, 0.95,
		0.4, 0.2, -2,
	}
	// Per-pixel max of (r, g, b): (0.9, 0.3, 0.1) → 0.9, (0.1, 0.8, 0.7) → 0.8, (0.2, 0.2, 0.95) → 0.95,
	// (0, 0, 0.4) → 0.4, (0.5, 0.6, 0.2) → 0.6, (-1, -3, -2) → -1.
	want := []float64{0.9, 0.8, 0.95, 0.4, 0.6, -1}
	// The gradient goes to the channel that won each pixel: red, green, blue, blue, green, red.
	wantGrad := []float64{
		1, 0, 0,
		0, 0, 6,
		0, 2, 0,
		0, 5, 0,
		0, 0, 3,
		4, 0, 0,
	}
	dy := []float64{1, 2, 3, 4, 5, 6}
	cases := []struct {
		name  string
		dtype tensor.Dtype
	}{
		{"float64", tensor.Float64},
		{"float32", tensor.Float32},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := denseOf(tc.dtype, rgb, 1, 3, 2, 3)
			out, err := DepthwiseMaxPool{K: 3}.Do(x)
			if err != nil {
				t.Fatal(err)
			}
			y := out.(*tensor.Dense)
			if !y.Shape().Eq(tensor.Shape{1, 1, 2, 3}) {
				t.Fatalf("shape %v, want (1, 1, 2, 3)", y.Shape())
			}
			if got := float64sOf(y); !slices.Equal(got, roundTo(tc.dtype, want)) {
				t.Fatalf("pooled %v, want %v", got, want)
			}
			dx, err := DepthwiseMaxPoolGrad{K: 3}.Do(x, denseOf(tc.dtype, dy, 1, 1, 2, 3))
			if err != nil {
				t.Fatal(err)
			}
			if got := float64sOf(dx.(*tensor.Dense)); !slices.Equal(got, wantGrad) {
				t.Fatalf("gradient %v, want %v", got, wantGrad)
			}
		})
	}
}

// TestDepthwiseMaxPoolTies checks that a tie goes to the first channel of the group, as MaxPool2DGrad
// routes to the first maximum of its window.
func TestDepthwiseMaxPoolTies(t *testing.T) {
	// Two images, 4 channels in two groups of 2, one pixel each: (1, 1 | 2, 5) and (0, 3 | 7, 7).
	x := denseOf(tensor.Float64, []float64{1, 1, 2, 5, 0, 3, 7, 7}, 2, 4, 1, 1)
	out, err := DepthwiseMaxPool{K: 2}.Do(x)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := float64sOf(out.(*tensor.Dense)), []float64{1, 5, 3, 7}; !slices.Equal(got, want) {
		t.Fatalf("pooled %v, want %v", got, want)
	}
	dx, err := DepthwiseMaxPoolGrad{K: 2}.Do(x, denseOf(tensor.Float64, []float64{10, 20, 30, 40}, 2, 2, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := float64sOf(dx.(*tensor.Dense)), []float64{10, 0, 0, 20, 0, 30, 40, 0}; !slices.Equal(got, want) {
		t.Fatalf("gradient %v, want %v", got, want)
	}
}

func TestDepthwiseMaxPoolShapeErrors(t *testing.T) {
	g := G.NewGraph()
	mk := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name))
	}
	x := mk("x", 2, 6, 4, 4)
	cases := []struct {
		name string
		op   G.Op
		args []*G.Node
	}{
		{"channels not divisible", DepthwiseMaxPool{K: 4}, []*G.Node{x}},
		{"pool size zero", DepthwiseMaxPool{K: 0}, []*G.Node{x}},
		{"pool size negative", DepthwiseMaxPool{K: -3}, []*G.Node{x}},
		{"rank 2", DepthwiseMaxPool{K: 3}, []*G.Node{mk("m", 2, 6)}},
		{"rank 3", DepthwiseMaxPool{K: 3}, []*G.Node{mk("chw", 6, 4, 4)}},
		{"grad wrong channels", DepthwiseMaxPoolGrad{K: 3}, []*G.Node{x, mk("dy3", 2, 3, 4, 4)}},
		{"grad wrong spatial", DepthwiseMaxPoolGrad{K: 3}, []*G.Node{x, mk("dy", 2, 2, 4, 3)}},
		{"grad not divisible", DepthwiseMaxPoolGrad{K: 5}, []*G.Node{x, mk("dy1", 2, 1, 4, 4)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := G.ApplyOp(tc.op, tc.args...)
			if !errors.Is(err, ErrShape) {
				t.Fatalf("error %v, want ErrShape", err)
			}
		})
	}
	// Do on a value must fail the same way, not panic.
	if _, err := (DepthwiseMaxPool{K: 4}).Do(denseOf(tensor.Float32, make([]float64, 6), 1, 6, 1, 1)); !errors.Is(err, ErrShape) {
		t.Fatalf("Do with 6 channels and k=4: error %v, want ErrShape", err)
	}
}

// denseOf builds a tensor of the given dtype and shape from float64 values.
func denseOf(dt tensor.Dtype, vals []float64, shape ...int) *tensor.Dense {
	if dt == tensor.Float32 {
		f := make([]float32, len(vals))
		for i, v := range vals {
			f[i] = float32(v)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(f))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(slices.Clone(vals)))
}

// float64sOf returns a float32 or float64 tensor's values as float64.
func float64sOf(d *tensor.Dense) []float64 {
	if d.Dtype() == tensor.Float64 {
		return slices.Clone(d.Float64s())
	}
	out := make([]float64, d.Shape().TotalSize())
	for i, v := range d.Float32s() {
		out[i] = float64(v)
	}
	return out
}

// roundTo rounds values to the precision of dt.
func roundTo(dt tensor.Dtype, vals []float64) []float64 {
	if dt == tensor.Float64 {
		return vals
	}
	out := make([]float64, len(vals))
	for i, v := range vals {
		out[i] = float64(float32(v))
	}
	return out
}
