package graph

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// dwCase is one depthwise convolution geometry: input (n, c, h, w), multiplier m, kernel kh×kw, strides
// and TensorFlow padding mode, or explicit padding when custom is set.
type dwCase struct {
	name                  string
	n, c, h, w, m, kh, kw int
	sh, sw                int
	mode                  PaddingMode
	custom                *Padding
}

func (tc dwCase) op(t testing.TB) DepthwiseConv2D {
	if tc.custom != nil {
		return DepthwiseConv2D{StrideH: tc.sh, StrideW: tc.sw, Pad: *tc.custom}
	}
	pad, err := Pad2D(tc.mode, tc.h, tc.w, tc.kh, tc.kw, tc.sh, tc.sw)
	if err != nil {
		t.Fatal(err)
	}
	return DepthwiseConv2D{StrideH: tc.sh, StrideW: tc.sw, Pad: pad}
}

// depthwiseCases are the geometries the gradient and forward tests share.
func depthwiseCases() []dwCase {
	return []dwCase{
		{"3x3 same", 2, 3, 5, 5, 1, 3, 3, 1, 1, Same, nil},
		{"3x3 valid", 2, 2, 6, 5, 1, 3, 3, 1, 1, Valid, nil},
		{"3x3 same, depth multiplier 2", 2, 2, 5, 6, 2, 3, 3, 1, 1, Same, nil},
		{"stride 2 same even (asymmetric pad)", 2, 2, 6, 6, 1, 3, 3, 2, 2, Same, nil},
		{"stride 2 same odd, multiplier 3", 1, 2, 7, 7, 3, 3, 3, 2, 2, Same, nil},
		{"stride 2 valid", 1, 2, 7, 6, 1, 3, 3, 2, 2, Valid, nil},
		{"5x5 same", 1, 2, 6, 7, 1, 5, 5, 1, 1, Same, nil},
		{"1x1 stride 2", 2, 3, 6, 6, 2, 1, 1, 2, 2, Same, nil},
		{"2x3 kernel, strides 1x2", 1, 2, 5, 7, 2, 2, 3, 1, 2, Same, nil},
		{"3x3 same on a 2-wide input", 1, 2, 3, 2, 1, 3, 3, 1, 1, Same, nil},
		{"kernel larger than input (same)", 1, 1, 2, 2, 1, 3, 3, 1, 1, Same, nil},
		{"3x3 strides 2x1 same", 1, 2, 8, 9, 1, 3, 3, 2, 1, Same, nil},
		{"3x3 wide padding (3 left, 1 right)", 1, 2, 4, 5, 2, 3, 3, 1, 1, Valid, &Padding{Top: 2, Bottom: 0, Left: 3, Right: 1}},
		{"3x3 right padding only", 2, 1, 5, 4, 1, 3, 3, 1, 1, Valid, &Padding{Top: 0, Bottom: 2, Left: 0, Right: 3}},
		{"5x5 stride 2 explicit padding", 1, 2, 6, 7, 1, 5, 5, 2, 2, Valid, &Padding{Top: 1, Bottom: 3, Left: 4, Right: 0}},
	}
}

func TestDepthwiseConv2DGradients(t *testing.T) {
	var cases []gradCase
	for _, tc := range depthwiseCases() {
		op := tc.op(t)
		cases = append(cases, gradCase{name: tc.name, build: func(g *G.ExprGraph, rng *rand.Rand) (*G.Node, G.Nodes, error) {
			x := input(g, rng, "x", tc.n, tc.c, tc.h, tc.w)
			k := input(g, rng, "w", tc.c*tc.m, 1, tc.kh, tc.kw)
			y, err := G.ApplyOp(op, x, k)
			return y, G.Nodes{x, k}, err
		}})
	}
	checkGradients(t, cases)
}

// naiveDepthwise is the definition of the op, written out as plain loops over every output element.
func naiveDepthwise(x, w []float64, tc dwCase, pad Padding, oh, ow int) []float64 {
	o := tc.c * tc.m
	y := make([]float64, tc.n*o*oh*ow)
	for n := 0; n < tc.n; n++ {
		for ch := 0; ch < o; ch++ {
			c := ch / tc.m
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					for i := 0; i < tc.kh; i++ {
						for j := 0; j < tc.kw; j++ {
							iy, ix := oy*tc.sh-pad.Top+i, ox*tc.sw-pad.Left+j
							if iy < 0 || iy >= tc.h || ix < 0 || ix >= tc.w {
								continue
							}
							s += x[((n*tc.c+c)*tc.h+iy)*tc.w+ix] * w[(ch*tc.kh+i)*tc.kw+j]
						}
					}
					y[((n*o+ch)*oh+oy)*ow+ox] = s
				}
			}
		}
	}
	return y
}

// TestDepthwiseConv2DForward compares the kernels, float64 and float32, with the op's definition, and
// with Conv2D on the equivalent dense kernel (zero outside each output channel's own input channel).
func TestDepthwiseConv2DForward(t *testing.T) {
	extra := []dwCase{
		{"xception 3x3 same, wide", 2, 4, 9, 19, 1, 3, 3, 1, 1, Same, nil},
		{"3x3 valid, 3-wide", 1, 2, 4, 3, 1, 3, 3, 1, 1, Valid, nil},
	}
	for _, tc := range append(depthwiseCases(), extra...) {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			op := tc.op(t)
			x, w := randDense(rng, tc.n, tc.c, tc.h, tc.w), randDense(rng, tc.c*tc.m, 1, tc.kh, tc.kw)
			out, err := op.Do(x, w)
			if err != nil {
				t.Fatal(err)
			}
			y := out.(*tensor.Dense)
			s := y.Shape()
			want := naiveDepthwise(x.Float64s(), w.Float64s(), tc, op.Pad, s[2], s[3])
			for i, v := range y.Float64s() {
				if math.Abs(v-want[i]) > 1e-12 {
					t.Fatalf("y[%d] = %.15g, want %.15g", i, v, want[i])
				}
			}
			// The same convolution as a dense Conv2D: kernel (C·M, C, KH, KW), zero off the diagonal.
			o := tc.c * tc.m
			dense := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(o, tc.c, tc.kh, tc.kw))
			kk := tc.kh * tc.kw
			for ch := 0; ch < o; ch++ {
				copy(dense.Float64s()[(ch*tc.c+ch/tc.m)*kk:], w.Float64s()[ch*kk:(ch+1)*kk])
			}
			ref, err := Conv2D{StrideH: tc.sh, StrideW: tc.sw, Pad: op.Pad}.Do(x, dense)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range ref.(*tensor.Dense).Float64s() {
				if math.Abs(v-want[i]) > 1e-12 {
					t.Fatalf("Conv2D y[%d] = %.15g, depthwise %.15g", i, v, want[i])
				}
			}
			// float32 follows the same code path.
			x32, w32 := toFloat32(x), toFloat32(w)
			out32, err := op.Do(x32, w32)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range out32.(*tensor.Dense).Float32s() {
				if math.Abs(float64(v)-want[i]) > 1e-5*(1+math.Abs(want[i])) {
					t.Fatalf("float32 y[%d] = %g, want %g", i, v, want[i])
				}
			}
		})
	}
}

// toFloat32 converts a float64 tensor.
func toFloat32(d *tensor.Dense) *tensor.Dense {
	out := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(d.Shape()...))
	for i, v := range d.Float64s() {
		out.Float32s()[i] = float32(v)
	}
	return out
}

func TestDepthwiseConv2DByHand(t *testing.T) {
	// Two channels, depth multiplier 1, 2×2 kernels, valid: channel 0 takes x[i][j] − x[i+1][j+1] (−4
	// everywhere on 1..9), channel 1 sums its window (12, 16, 24, 28 on 1..9).
	x := tensor.New(tensor.WithShape(1, 2, 3, 3), tensor.WithBacking([]float64{
		1, 2, 3, 4, 5, 6, 7, 8, 9,
		1, 2, 3, 4, 5, 6, 7, 8, 9,
	}))
	w := tensor.New(tensor.WithShape(2, 1, 2, 2), tensor.WithBacking([]float64{1, 0, 0, -1, 1, 1, 1, 1}))
	out, err := DepthwiseConv2D{StrideH: 1, StrideW: 1}.Do(x, w)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-4, -4, -4, -4, 12, 16, 24, 28}
	for i, v := range out.(*tensor.Dense).Float64s() {
		if v != want[i] {
			t.Fatalf("y[%d] = %v, want %v", i, v, want[i])
		}
	}
	// Depth multiplier 2 on one channel: output channel m uses filter m of the same input channel.
	x1 := tensor.New(tensor.WithShape(1, 1, 2, 2), tensor.WithBacking([]float64{1, 2, 3, 4}))
	w2 := tensor.New(tensor.WithShape(2, 1, 1, 1), tensor.WithBacking([]float64{2, -1}))
	out, err = DepthwiseConv2D{StrideH: 1, StrideW: 1}.Do(x1, w2)
	if err != nil {
		t.Fatal(err)
	}
	want = []float64{2, 4, 6, 8, -1, -2, -3, -4}
	for i, v := range out.(*tensor.Dense).Float64s() {
		if v != want[i] {
			t.Fatalf("multiplier 2: y[%d] = %v, want %v", i, v, want[i])
		}
	}
}

func TestDepthwiseConv2DShapeErrors(t *testing.T) {
	one := DepthwiseConv2D{StrideH: 1, StrideW: 1}
	cases := []struct {
		name string
		x, w []int
		op   G.Op
	}{
		{"filters not a multiple of channels", []int{1, 3, 5, 5}, []int{4, 1, 3, 3}, one},
		{"kernel with several input channels", []int{1, 3, 5, 5}, []int{3, 3, 3, 3}, one},
		{"rank 3 input", []int{3, 5, 5}, []int{3, 1, 3, 3}, one},
		{"rank 3 kernel", []int{1, 3, 5, 5}, []int{3, 3, 3}, one},
		{"kernel too large", []int{1, 1, 2, 2}, []int{1, 1, 3, 3}, one},
		{"zero stride", []int{1, 1, 4, 4}, []int{1, 1, 3, 3}, DepthwiseConv2D{}},
		{"negative padding", []int{1, 1, 4, 4}, []int{1, 1, 3, 3}, DepthwiseConv2D{StrideH: 1, StrideW: 1, Pad: Padding{Top: -1}}},
		{"input gradient of the wrong size", []int{3, 1, 3, 3}, []int{1, 3, 4, 4},
			DepthwiseConv2DBackpropInput{StrideH: 1, StrideW: 1, InC: 3, InH: 5, InW: 5}},
		{"input gradient with the wrong channels", []int{3, 1, 3, 3}, []int{1, 3, 3, 3},
			DepthwiseConv2DBackpropInput{StrideH: 1, StrideW: 1, InC: 2, InH: 5, InW: 5}},
		{"filter gradient of the wrong size", []int{1, 3, 5, 5}, []int{1, 3, 4, 4},
			DepthwiseConv2DBackpropFilter{StrideH: 1, StrideW: 1, KH: 3, KW: 3}},
		{"filter gradient with the wrong batch", []int{1, 3, 5, 5}, []int{2, 3, 3, 3},
			DepthwiseConv2DBackpropFilter{StrideH: 1, StrideW: 1, KH: 3, KW: 3}},
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
			// A rank mismatch fails Gorgonia's type check before the shape rule runs.
			if len(tc.x) == 4 && len(tc.w) == 4 && !errors.Is(err, ErrShape) {
				t.Fatalf("error %v is not ErrShape", err)
			}
		})
	}
}

// BenchmarkDepthwiseConv2D times Xception's middle-flow depthwise convolution (728 channels, 3×3, stride
// 1, SAME, 19×19 at 299×299 input) and its two gradients, float32.
func BenchmarkDepthwiseConv2D(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, c, h, w = 8, 728, 19, 19
	pad, err := Pad2D(Same, h, w, 3, 3, 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	x, k := toFloat32(randDense(rng, n, c, h, w)), toFloat32(randDense(rng, c, 1, 3, 3))
	dy := toFloat32(randDense(rng, n, c, h, w))
	e := NewExec(0)
	defer e.Close()
	geo, err := depthwiseConvGeometry("bench", x.Shape(), k.Shape(), 1, 1, pad)
	if err != nil {
		b.Fatal(err)
	}
	y, dx, dk := newDense(tensor.Float32, x.Shape()), newDense(tensor.Float32, x.Shape()), newDense(tensor.Float32, k.Shape())
	for _, bc := range []struct {
		name string
		run  func()
	}{
		{"forward", func() { dwConvForward(e, geo, floats[float32](x), floats[float32](k), floats[float32](y)) }},
		{"backprop_input", func() { dwConvBackpropInput(e, geo, floats[float32](k), floats[float32](dy), floats[float32](dx)) }},
		{"backprop_filter", func() { dwConvBackpropFilter(e, geo, floats[float32](x), floats[float32](dy), floats[float32](dk)) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * n * c * h * w))
			for b.Loop() {
				bc.run()
			}
		})
	}
}
