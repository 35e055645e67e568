package graph

import (
	"errors"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestConv2DGradients(t *testing.T) {
	conv := func(n, c, h, w, o, kh, kw, s int, mode PaddingMode) func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
		return func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			x := input(g, rng, "x", n, c, h, w)
			k := input(g, rng, "w", o, c, kh, kw)
			pad, err := Pad2D(mode, h, w, kh, kw, s, s)
			if err != nil {
				return nil, nil, err
			}
			y, err := G.ApplyOp(Conv2D{StrideH: s, StrideW: s, Pad: pad}, x, k)
			return y, G.Nodes{x, k}, err
		}
	}
	checkGradients(t, []gradCase{
		{name: "3x3 same", build: conv(2, 3, 5, 5, 4, 3, 3, 1, Same)},
		{name: "3x3 valid", build: conv(2, 2, 6, 5, 3, 3, 3, 1, Valid)},
		{name: "7x7 same", build: conv(1, 1, 8, 8, 2, 7, 7, 1, Same)},
		{name: "stride 2 same even (asymmetric pad)", build: conv(2, 2, 6, 6, 3, 3, 3, 2, Same)},
		{name: "stride 2 same odd", build: conv(1, 2, 7, 7, 2, 3, 3, 2, Same)},
		{name: "1x1 stride 2", build: conv(2, 3, 6, 6, 2, 1, 1, 2, Same)},
		{name: "stride 2 valid", build: conv(1, 2, 7, 6, 2, 3, 3, 2, Valid)},
		{name: "kernel larger than input (same)", build: conv(1, 1, 2, 2, 1, 3, 3, 1, Same)},
		{name: "pointwise 1x1 (image by image, no im2col)", build: conv(2, 3, 4, 5, 2, 1, 1, 1, Valid)},
		{name: "large output (image by image)", build: conv(2, 2, 16, 16, 2, 3, 3, 1, Same)},
		{name: "1x1 map, 3x3 same: one live tap", build: conv(3, 4, 1, 1, 3, 3, 3, 1, Same)},
		{name: "2x2 map, 3x3 stride 2 same: four live taps", build: conv(2, 3, 2, 2, 2, 3, 3, 2, Same)},
		{name: "1x3 map, 3x3 same: three live taps", build: conv(2, 2, 1, 3, 2, 3, 3, 1, Same)},
	})
}

func TestConv2DForwardByHand(t *testing.T) {
	// A 3×3 image convolved with a 2×2 kernel, valid padding, stride 1: each output is the sum of the
	// products over its window, computed here by hand.
	x := tensor.New(tensor.WithShape(1, 1, 3, 3), tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}))
	w := tensor.New(tensor.WithShape(1, 1, 2, 2), tensor.WithBacking([]float64{1, 0, 0, -1}))
	// y[i][j] = x[i][j] - x[i+1][j+1] = -4 everywhere.
	out, err := Conv2D{StrideH: 1, StrideW: 1}.Do(x, w)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out.(*tensor.Dense).Float64s() {
		if v != -4 {
			t.Fatalf("y[%d] = %v, want -4", i, v)
		}
	}
	// TF SAME, stride 2 on a 4×4 input with a 3×3 kernel pads 0 before and 1 after: the first output
	// window covers rows/cols 0..2, so with an all-ones kernel y[0][0] = sum of x[0:3, 0:3].
	x4 := tensor.New(tensor.WithShape(1, 1, 4, 4), tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}))
	ones := tensor.New(tensor.WithShape(1, 1, 3, 3), tensor.WithBacking([]float64{1, 1, 1, 1, 1, 1, 1, 1, 1}))
	pad, err := Pad2D(Same, 4, 4, 3, 3, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if pad != (Padding{Top: 0, Bottom: 1, Left: 0, Right: 1}) {
		t.Fatalf("SAME padding for 4x4, k3, s2 = %+v, want 0 before and 1 after", pad)
	}
	out, err = Conv2D{StrideH: 2, StrideW: 2, Pad: pad}.Do(x4, ones)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{
		1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11, 3 + 4 + 7 + 8 + 11 + 12,
		9 + 10 + 11 + 13 + 14 + 15, 11 + 12 + 15 + 16,
	}
	for i, v := range out.(*tensor.Dense).Float64s() {
		if v != want[i] {
			t.Fatalf("y[%d] = %v, want %v", i, v, want[i])
		}
	}
}

func TestConv2DShapeErrors(t *testing.T) {
	cases := []struct {
		name   string
		x, w   []int
		op     Conv2D
		expect error
	}{
		{"channel mismatch", []int{1, 3, 5, 5}, []int{2, 2, 3, 3}, Conv2D{StrideH: 1, StrideW: 1}, ErrShape},
		{"rank 3 input", []int{3, 5, 5}, []int{2, 3, 3, 3}, Conv2D{StrideH: 1, StrideW: 1}, ErrShape},
		{"kernel too large", []int{1, 1, 2, 2}, []int{1, 1, 3, 3}, Conv2D{StrideH: 1, StrideW: 1}, ErrShape},
		{"zero stride", []int{1, 1, 4, 4}, []int{1, 1, 3, 3}, Conv2D{}, ErrShape},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := G.NewGraph()
			x := G.NewTensor(g, tensor.Float64, len(tc.x), G.WithShape(tc.x...), G.WithName("x"))
			w := G.NewTensor(g, tensor.Float64, len(tc.w), G.WithShape(tc.w...), G.WithName("w"))
			_, err := G.ApplyOp(tc.op, x, w)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.name != "rank 3 input" && !errors.Is(err, tc.expect) {
				t.Fatalf("error %v is not %v", err, tc.expect)
			}
		})
	}
}

// TestLiveTaps checks which kernel taps convolutions of small maps keep (taps that only ever read
// padding are left out of im2col and of the matrix product).
func TestLiveTaps(t *testing.T) {
	cases := []struct {
		name      string
		h, w, k   int
		stride    int
		mode      PaddingMode
		wantLive  int
		wantFirst [2]int
	}{
		{"1x1 map, 3x3 same", 1, 1, 3, 1, Same, 1, [2]int{1, 1}},
		{"2x2 map, 3x3 stride 2 same (pad 0 before, 1 after)", 2, 2, 3, 2, Same, 4, [2]int{0, 0}},
		{"2x2 map, 3x3 same", 2, 2, 3, 1, Same, 9, [2]int{0, 0}},
		{"7x7 map, 3x3 same", 7, 7, 3, 1, Same, 9, [2]int{0, 0}},
		{"1x1 map, 7x7 same", 1, 1, 7, 1, Same, 1, [2]int{3, 3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pad, err := Pad2D(tc.mode, tc.h, tc.w, tc.k, tc.k, tc.stride, tc.stride)
			if err != nil {
				t.Fatal(err)
			}
			g, err := newConvGeometry(1, 1, tc.h, tc.w, 1, tc.k, tc.k, tc.stride, tc.stride, pad)
			if err != nil {
				t.Fatal(err)
			}
			i, j := g.tap(0)
			if g.nLive != tc.wantLive || [2]int{i, j} != tc.wantFirst {
				t.Fatalf("%d live taps, first (%d, %d); want %d, first %v", g.nLive, i, j, tc.wantLive, tc.wantFirst)
			}
		})
	}
}
