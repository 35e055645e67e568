package graph

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// unary builds a graph applying op to one random input of the given shape.
func unary(op G.Op, shape ...int) func(*G.ExprGraph, *rand.Rand) (*G.Node, G.Nodes, error) {
	return func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
		x := input(g, rng, "x", shape...)
		y, err := G.ApplyOp(op, x)
		return y, G.Nodes{x}, err
	}
}

// labels adds an int32 label vector to g.
func labels(g *G.ExprGraph, vals ...int32) *G.Node {
	t := tensor.New(tensor.WithShape(len(vals)), tensor.WithBacking(vals))
	return G.NewTensor(g, tensor.Int32, 1, G.WithShape(len(vals)), G.WithName("labels"), G.WithValue(t))
}

// step adds an int64 training-step scalar to g.
func step(g *G.ExprGraph, v int64) *G.Node {
	return G.NewScalar(g, tensor.Int64, G.WithName("step"), G.WithValue(tensor.New(tensor.FromScalar(v))))
}

func window(mode PaddingMode, h, w, k, s int) Window {
	pad, err := Pad2D(mode, h, w, k, k, s, s)
	if err != nil {
		panic(err)
	}
	return Window{KH: k, KW: k, StrideH: s, StrideW: s, Pad: pad}
}

func TestOpGradients(t *testing.T) {
	checkGradients(t, []gradCase{
		{name: "ReLU", build: unary(ReLU{}, 3, 7)},
		{name: "MaxPool2D 2x2 valid", build: unary(MaxPool2D{Window: window(Valid, 5, 5, 2, 2)}, 2, 2, 5, 5)},
		{name: "MaxPool2D 2x2 same odd input", build: unary(MaxPool2D{Window: window(Same, 5, 5, 2, 2)}, 1, 2, 5, 5)},
		{name: "MaxPool2D 3x3 s2 same", build: unary(MaxPool2D{Window: window(Same, 6, 6, 3, 2)}, 1, 2, 6, 6)},
		{name: "AvgPool2D 2x2 valid", build: unary(AvgPool2D{Window: window(Valid, 4, 5, 2, 2)}, 2, 2, 4, 5)},
		{name: "AvgPool2D 3x3 s2 same", build: unary(AvgPool2D{Window: window(Same, 6, 5, 3, 2)}, 1, 2, 6, 5)},
		{name: "Reshape", build: unary(Reshape{From: tensor.Shape{2, 3, 2, 2}, To: tensor.Shape{2, 12}}, 2, 3, 2, 2)},
		{name: "BiasAdd NCHW", build: func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			x, b := input(g, rng, "x", 2, 3, 2, 2), input(g, rng, "b", 3)
			y, err := G.ApplyOp(BiasAdd{}, x, b)
			return y, G.Nodes{x, b}, err
		}},
		{name: "Add", build: func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			a, b := input(g, rng, "a", 2, 3, 2), input(g, rng, "b", 2, 3, 2)
			y, err := G.ApplyOp(Add{}, a, b)
			return y, G.Nodes{a, b}, err
		}},
		{name: "Add same input twice", build: func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			a := input(g, rng, "a", 4)
			r, err := G.ApplyOp(ReLU{}, a)
			if err != nil {
				return nil, nil, err
			}
			y, err := G.ApplyOp(Add{}, r, a)
			return y, G.Nodes{a}, err
		}},
		{name: "Dense", build: func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			x, w, b := input(g, rng, "x", 4, 5), input(g, rng, "w", 5, 3), input(g, rng, "b", 3)
			y, err := G.ApplyOp(Dense{}, x, w, b)
			return y, G.Nodes{x, w, b}, err
		}},
		{name: "MatMul", build: matmulCase(false, false)},
		{name: "MatMul Aᵀ", build: matmulCase(true, false)},
		{name: "MatMul Bᵀ", build: matmulCase(false, true)},
		{name: "MatMul AᵀBᵀ", build: matmulCase(true, true)},
		{name: "Dropout", build: func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			x := input(g, rng, "x", 6, 7)
			y, err := G.ApplyOp(Dropout{Rate: 0.5, Seed: 7}, x, step(g, 3))
			return y, G.Nodes{x}, err
		}},
		{name: "SoftmaxCrossEntropy", build: func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			z := input(g, rng, "z", 3, 4)
			y, err := G.ApplyOp(SoftmaxCrossEntropy{}, z, labels(g, 0, 3, 2))
			return y, G.Nodes{z}, err
		}},
		{name: "SoftmaxCrossEntropy smoothed", build: func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			z := input(g, rng, "z", 3, 4)
			y, err := G.ApplyOp(SoftmaxCrossEntropy{Smoothing: 0.1}, z, labels(g, 1, 1, 0))
			return y, G.Nodes{z}, err
		}},
	})
}

func matmulCase(ta, tb bool) func(*G.ExprGraph, *rand.Rand) (*G.Node, G.Nodes, error) {
	return func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
		as, bs := []int{3, 4}, []int{4, 2}
		if ta {
			as = []int{4, 3}
		}
		if tb {
			bs = []int{2, 4}
		}
		a, b := input(g, rng, "a", as...), input(g, rng, "b", bs...)
		y, err := G.ApplyOp(MatMul{TransA: ta, TransB: tb}, a, b)
		return y, G.Nodes{a, b}, err
	}
}

func TestPoolingByHand(t *testing.T) {
	x := tensor.New(tensor.WithShape(1, 1, 4, 4), tensor.WithBacking([]float64{
		1, 2, 5, 6,
		3, 4, 7, 8,
		-1, -2, 0, 0,
		-3, -4, 0, 1,
	}))
	cases := []struct {
		name string
		op   G.Op
		want []float64
	}{
		{"max 2x2", MaxPool2D{Window: window(Valid, 4, 4, 2, 2)}, []float64{4, 8, -1, 1}},
		{"avg 2x2", AvgPool2D{Window: window(Valid, 4, 4, 2, 2)}, []float64{2.5, 6.5, -2.5, 0.25}},
		// 3×3 windows, stride 2, SAME on 4×4: pad 0 before and 1 after, so the second window of each
		// axis covers rows/cols 2..3 only and the average divides by the pixels inside (not 9).
		{"max 3x3 s2 same", MaxPool2D{Window: window(Same, 4, 4, 3, 2)}, []float64{7, 8, 0, 1}},
		{"avg 3x3 s2 same", AvgPool2D{Window: window(Same, 4, 4, 3, 2)}, []float64{
			(1 + 2 + 5 + 3 + 4 + 7 - 1 - 2 + 0) / 9.0, (5 + 6 + 7 + 8 + 0 + 0) / 6.0,
			(-1 - 2 + 0 - 3 - 4 + 0) / 6.0, (0 + 0 + 0 + 1) / 4.0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.op.Do(x)
			if err != nil {
				t.Fatal(err)
			}
			got := out.(*tensor.Dense).Float64s()
			for i := range tc.want {
				if math.Abs(got[i]-tc.want[i]) > 1e-12 {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestDropoutMask(t *testing.T) {
	n := 100000
	x := tensor.New(tensor.WithShape(n), tensor.WithBacking(make([]float32, n)))
	for i := range x.Float32s() {
		x.Float32s()[i] = 1
	}
	run := func(seed uint64, s int64) []float32 {
		out, err := Dropout{Rate: 0.3, Seed: seed}.Do(x, tensor.New(tensor.FromScalar(s)))
		if err != nil {
			t.Fatal(err)
		}
		return out.(*tensor.Dense).Float32s()
	}
	a, b, c := run(1, 5), run(1, 5), run(1, 6)
	kept, same := 0, 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed and step gave different masks")
		}
		if a[i] != 0 {
			kept++
			if math.Abs(float64(a[i])-1/0.7) > 1e-6 {
				t.Fatalf("kept value %v, want 1/(1-rate)", a[i])
			}
		}
		if (a[i] != 0) == (c[i] != 0) {
			same++
		}
	}
	if frac := float64(kept) / float64(n); math.Abs(frac-0.7) > 0.01 {
		t.Fatalf("kept fraction %.4f, want 0.7", frac)
	}
	// Independent masks at keep rate 0.7 agree on 0.7² + 0.3² = 58% of elements.
	if frac := float64(same) / float64(n); math.Abs(frac-0.58) > 0.01 {
		t.Fatalf("masks of consecutive steps agree on %.4f of elements, want about 0.58", frac)
	}
}

func TestSoftmaxCrossEntropyStable(t *testing.T) {
	// Huge logits must not overflow: loss of the right class at +1000 over -1000 is 0, the wrong one 2000.
	z := tensor.New(tensor.WithShape(2, 2), tensor.WithBacking([]float32{1000, -1000, 1000, -1000}))
	l := tensor.New(tensor.WithShape(2), tensor.WithBacking([]int32{0, 1}))
	out, err := SoftmaxCrossEntropy{}.Do(z, l)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*tensor.Dense).Float32s()[0]; math.Abs(float64(got)-1000) > 1e-3 {
		t.Fatalf("loss %v, want 1000 (mean of 0 and 2000)", got)
	}
	// Uniform logits over K classes give log K.
	u := tensor.New(tensor.WithShape(1, 10), tensor.WithBacking(make([]float64, 10)))
	out, err = SoftmaxCrossEntropy{}.Do(u, tensor.New(tensor.WithShape(1), tensor.WithBacking([]int32{4})))
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*tensor.Dense).Float64s()[0]; math.Abs(got-math.Log(10)) > 1e-12 {
		t.Fatalf("loss %v, want log 10", got)
	}
	bad := tensor.New(tensor.WithShape(2), tensor.WithBacking([]int32{0, 2}))
	if _, err := (SoftmaxCrossEntropy{}).Do(z, bad); !errors.Is(err, ErrLabel) {
		t.Fatalf("label 2 of 2 classes: error %v, want ErrLabel", err)
	}
}

func TestCountCorrect(t *testing.T) {
	z := tensor.New(tensor.WithShape(3, 3), tensor.WithBacking([]float32{0, 1, 0, 5, 1, 2, 0, 0, 3}))
	l := tensor.New(tensor.WithShape(3), tensor.WithBacking([]int32{1, 1, 2}))
	out, err := CountCorrect{}.Do(z, l)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.(*tensor.Dense).Float32s()[0]; got != 2 {
		t.Fatalf("correct = %v, want 2", got)
	}
}

func TestShapeErrors(t *testing.T) {
	g := G.NewGraph()
	mk := func(name string, shape ...int) *G.Node {
		return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name))
	}
	x4, x2 := mk("x4", 2, 3, 4, 4), mk("x2", 2, 5)
	cases := []struct {
		name string
		op   G.Op
		args []*G.Node
	}{
		{"BiasAdd wrong bias", BiasAdd{}, []*G.Node{x4, mk("b4", 4)}},
		{"Dense inner mismatch", Dense{}, []*G.Node{x2, mk("w", 4, 3), mk("b3", 3)}},
		{"Dense bias mismatch", Dense{}, []*G.Node{x2, mk("w5", 5, 3), mk("b2", 2)}},
		{"MatMul mismatch", MatMul{}, []*G.Node{x2, mk("m", 4, 3)}},
		{"Add mismatch", Add{}, []*G.Node{x2, mk("y", 2, 4)}},
		{"ReLUGrad mismatch", ReLUGrad{}, []*G.Node{x2, mk("y2", 5, 2)}},
		{"MaxPool rank", MaxPool2D{Window: Window{KH: 2, KW: 2, StrideH: 2, StrideW: 2}}, []*G.Node{x2}},
		{"MaxPool window too big", MaxPool2D{Window: Window{KH: 5, KW: 5, StrideH: 1, StrideW: 1}}, []*G.Node{x4}},
		{"AvgPool padding too big", AvgPool2D{Window: Window{KH: 2, KW: 2, StrideH: 1, StrideW: 1, Pad: Padding{Top: 2}}}, []*G.Node{x4}},
		{"Reshape size", Reshape{From: tensor.Shape{2, 5}, To: tensor.Shape{3, 3}}, []*G.Node{x2}},
		{"Reshape from", Reshape{From: tensor.Shape{5, 2}, To: tensor.Shape{10}}, []*G.Node{x2}},
		{"BatchNormTrain gamma size", BatchNormTrain{Eps: 1e-3}, []*G.Node{x4, mk("g2", 2), mk("b2", 2)}},
		{"BatchNormInfer variance size", BatchNormInfer{Eps: 1e-3}, []*G.Node{x4, mk("g3", 3), mk("b3", 3), mk("m3", 3), mk("v4", 4)}},
		{"BatchStats rank", BatchStats{Rank: 1}, []*G.Node{mk("v1", 5)}},
		{"GlobalAvgPool rank", GlobalAvgPool{}, []*G.Node{x2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := G.ApplyOp(tc.op, tc.args...)
			if !errors.Is(err, ErrShape) {
				t.Fatalf("error %v, want ErrShape", err)
			}
		})
	}
	labelsBad := G.NewTensor(g, tensor.Int32, 1, G.WithShape(3), G.WithName("l3"))
	if _, err := G.ApplyOp(SoftmaxCrossEntropy{}, x2, labelsBad); !errors.Is(err, ErrShape) {
		t.Fatalf("loss with 3 labels for 2 rows: %v, want ErrShape", err)
	}
}
