package graph

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestConcatGradients(t *testing.T) {
	// concat joins random inputs of the given shapes along axis; the gradient check also runs the graph
	// through Gorgonia's tape machine, so it shows that an n-ary op (Arity -1) applies and backpropagates.
	concat := func(axis int, shapes ...[]int) func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
		return func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			var xs G.Nodes
			for i, s := range shapes {
				xs = append(xs, input(g, rng, fmt.Sprintf("x%d", i), s...))
			}
			y, err := G.ApplyOp(Concat{Axis: axis, N: len(xs)}, xs...)
			return y, xs, err
		}
	}
	checkGradients(t, []gradCase{
		{name: "two NCHW inputs on channels", build: concat(1, []int{2, 3, 4, 4}, []int{2, 5, 4, 4})},
		{name: "three NCHW inputs on channels", build: concat(1, []int{2, 1, 3, 2}, []int{2, 4, 3, 2}, []int{2, 2, 3, 2})},
		{name: "batch axis", build: concat(0, []int{1, 2, 3, 3}, []int{3, 2, 3, 3})},
		{name: "last axis", build: concat(3, []int{2, 2, 3, 1}, []int{2, 2, 3, 4})},
		{name: "matrices on features", build: concat(1, []int{3, 2}, []int{3, 5}, []int{3, 1}, []int{3, 3})},
		{name: "one node twice", build: func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			x := input(g, rng, "x", 2, 3, 2, 2)
			y := input(g, rng, "y", 2, 1, 2, 2)
			out, err := G.ApplyOp(Concat{Axis: 1, N: 3}, x, y, x)
			return out, G.Nodes{x, y}, err
		}},
	})
}

func TestConcatByHand(t *testing.T) {
	// Two images; a has one channel, b two: each output image is a's channel, then b's two.
	a := tensor.New(tensor.WithShape(2, 1, 1, 2), tensor.WithBacking([]float64{1, 2, 3, 4}))
	b := tensor.New(tensor.WithShape(2, 2, 1, 2), tensor.WithBacking([]float64{10, 20, 30, 40, 50, 60, 70, 80}))
	out, err := Concat{Axis: 1, N: 2}.Do(a, b)
	if err != nil {
		t.Fatal(err)
	}
	y := out.(*tensor.Dense)
	if !y.Shape().Eq(tensor.Shape{2, 3, 1, 2}) {
		t.Fatalf("shape %v, want (2, 3, 1, 2)", y.Shape())
	}
	want := []float64{1, 2, 10, 20, 30, 40, 3, 4, 50, 60, 70, 80}
	for i, v := range y.Float64s() {
		if v != want[i] {
			t.Fatalf("y[%d] = %v, want %v", i, v, want[i])
		}
	}
	// The gradient of input 1 is its slice of dy.
	grad, err := ConcatGrad{Axis: 1, Offset: 1, Size: 2}.Do(y)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range grad.(*tensor.Dense).Float64s() {
		if v != b.Float64s()[i] {
			t.Fatalf("slice[%d] = %v, want %v", i, v, b.Float64s()[i])
		}
	}
	// float32 takes the same path.
	out32, err := Concat{Axis: 1, N: 2}.Do(toFloat32(a), toFloat32(b))
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out32.(*tensor.Dense).Float32s() {
		if float64(v) != want[i] {
			t.Fatalf("float32 y[%d] = %v, want %v", i, v, want[i])
		}
	}
}

func TestConcatShapeErrors(t *testing.T) {
	cases := []struct {
		name   string
		op     G.Op
		shapes [][]int
	}{
		{"height differs", Concat{Axis: 1, N: 2}, [][]int{{1, 2, 3, 3}, {1, 2, 4, 3}}},
		{"batch differs", Concat{Axis: 1, N: 2}, [][]int{{1, 2, 3, 3}, {2, 2, 3, 3}}},
		{"axis out of range", Concat{Axis: 4, N: 2}, [][]int{{1, 2, 3, 3}, {1, 2, 3, 3}}},
		{"negative axis", Concat{Axis: -1, N: 2}, [][]int{{1, 2, 3, 3}, {1, 2, 3, 3}}},
		{"one input", Concat{Axis: 1, N: 1}, [][]int{{1, 2, 3, 3}}},
		{"slice past the end", ConcatGrad{Axis: 1, Offset: 2, Size: 2}, [][]int{{1, 3, 2, 2}}},
		{"empty slice", ConcatGrad{Axis: 1, Offset: 0, Size: 0}, [][]int{{1, 3, 2, 2}}},
		{"slice axis out of range", ConcatGrad{Axis: 2, Offset: 0, Size: 1}, [][]int{{3, 2}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := G.NewGraph()
			var xs G.Nodes
			for i, s := range tc.shapes {
				xs = append(xs, G.NewTensor(g, tensor.Float64, len(s), G.WithShape(s...), G.WithName(fmt.Sprintf("x%d", i))))
			}
			_, err := G.ApplyOp(tc.op, xs...)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrShape) {
				t.Fatalf("error %v is not ErrShape", err)
			}
		})
	}
	// Inputs that the op's N or type does not admit are refused before the shape rule.
	mismatch := []struct {
		name   string
		op     Concat
		shapes [][]int
	}{
		{"more inputs than N", Concat{Axis: 1, N: 2}, [][]int{{1, 2}, {1, 2}, {1, 2}}},
		{"ranks differ", Concat{Axis: 1, N: 2}, [][]int{{1, 2, 3, 3}, {1, 2, 3}}},
	}
	for _, tc := range mismatch {
		t.Run(tc.name, func(t *testing.T) {
			g := G.NewGraph()
			var xs G.Nodes
			for i, s := range tc.shapes {
				xs = append(xs, G.NewTensor(g, tensor.Float64, len(s), G.WithShape(s...), G.WithName(fmt.Sprintf("x%d", i))))
			}
			if _, err := G.ApplyOp(tc.op, xs...); err == nil {
				t.Fatal("no error")
			}
		})
	}
	// Exec checks its inputs too (a program hands it buffers directly).
	e := NewExec(1)
	defer e.Close()
	out := newDense(tensor.Float64, tensor.Shape{1, 4})
	if err := (Concat{Axis: 1, N: 3}).Exec(e, out, []*tensor.Dense{newDense(tensor.Float64, tensor.Shape{1, 2}), newDense(tensor.Float64, tensor.Shape{1, 2})}); !errors.Is(err, ErrShape) {
		t.Fatalf("Exec with 2 inputs for N = 3: error %v, want ErrShape", err)
	}
}
