package layers

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/graph"
)

// newTestBuilder returns a float64 builder on a fresh graph and an input node with random values.
func newTestBuilder(t *testing.T, shape ...int) (*graph.Builder, *G.Node) {
	t.Helper()
	g := G.NewGraph()
	b, err := graph.NewBuilder(g, graph.NewParams(), graph.BuildOptions{Dtype: tensor.Float64, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	v := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	for i := range v.Float64s() {
		v.Float64s()[i] = 2*rng.Float64() - 1
	}
	return b, G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName("x"), G.WithValue(v))
}

func TestDepthwiseAndSeparableLayers(t *testing.T) {
	type param struct {
		name  string
		shape tensor.Shape
	}
	cases := []struct {
		name    string
		layer   Layer
		in      []int
		want    tensor.Shape
		typ     string
		count   int
		params  []param
		wantErr string // "": success; "shape": wraps graph.ErrShape; "any": any error
	}{
		{name: "depthwise 3x3 same", layer: DepthwiseConv2D(DepthwiseOptions{Kernel: 3, Padding: graph.Same}),
			in: []int{2, 4, 6, 6}, want: tensor.Shape{2, 4, 6, 6}, typ: "DepthwiseConv2D", count: 9*4 + 4,
			params: []param{{"depthwise_conv2d/depthwise_kernel", tensor.Shape{4, 1, 3, 3}}, {"depthwise_conv2d/bias", tensor.Shape{4}}}},
		{name: "depthwise multiplier 2 stride 2 no bias", layer: DepthwiseConv2D(DepthwiseOptions{Kernel: 3, Stride: 2, Padding: graph.Same, Multiplier: 2, NoBias: true, Name: "dw"}),
			in: []int{1, 3, 8, 8}, want: tensor.Shape{1, 6, 4, 4}, typ: "DepthwiseConv2D", count: 9 * 6,
			params: []param{{"dw/depthwise_kernel", tensor.Shape{6, 1, 3, 3}}}},
		{name: "separable as in Xception", layer: SeparableConv2D(SeparableOptions{Filters: 5, Kernel: 3, Padding: graph.Same, NoBias: true, Name: "block2_sepconv1"}),
			in: []int{2, 4, 7, 7}, want: tensor.Shape{2, 5, 7, 7}, typ: "SeparableConv2D", count: 9*4 + 4*5,
			params: []param{{"block2_sepconv1/depthwise_kernel", tensor.Shape{4, 1, 3, 3}}, {"block2_sepconv1/pointwise_kernel", tensor.Shape{5, 4, 1, 1}}}},
		{name: "separable with bias, stride 2 valid", layer: SeparableConv2D(SeparableOptions{Filters: 3, Kernel: 3, Stride: 2, Activation: ReLU}),
			in: []int{1, 2, 7, 6}, want: tensor.Shape{1, 3, 3, 2}, typ: "SeparableConv2D", count: 9*2 + 2*3 + 3,
			params: []param{{"separable_conv2d/depthwise_kernel", tensor.Shape{2, 1, 3, 3}}, {"separable_conv2d/pointwise_kernel", tensor.Shape{3, 2, 1, 1}}, {"separable_conv2d/bias", tensor.Shape{3}}}},
		{name: "depthwise on a matrix", layer: DepthwiseConv2D(DepthwiseOptions{Kernel: 3}), in: []int{2, 4}, wantErr: "shape"},
		{name: "separable kernel larger than input", layer: SeparableConv2D(SeparableOptions{Filters: 2, Kernel: 5}), in: []int{1, 2, 3, 3}, wantErr: "shape"},
		{name: "separable without filters", layer: SeparableConv2D(SeparableOptions{Kernel: 3}), in: []int{1, 2, 5, 5}, wantErr: "any"},
		{name: "depthwise without kernel size", layer: DepthwiseConv2D(DepthwiseOptions{}), in: []int{1, 2, 5, 5}, wantErr: "any"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, x := newTestBuilder(t, tc.in...)
			y, err := tc.layer(b, x)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr == "any" && err == nil, tc.wantErr == "shape" && !errors.Is(err, graph.ErrShape):
				t.Fatalf("error %v, want a %s error", err, tc.wantErr)
			case tc.wantErr != "":
				return
			}
			if !y.Shape().Eq(tc.want) {
				t.Fatalf("output shape %v, want %v", y.Shape(), tc.want)
			}
			rows := b.Layers()
			if len(rows) != 1 || rows[0].Type != tc.typ || rows[0].Params != tc.count {
				t.Fatalf("summary %+v, want one %s row with %d parameters", rows, tc.typ, tc.count)
			}
			all := b.Params().All()
			if len(all) != len(tc.params) {
				t.Fatalf("%d parameters, want %d", len(all), len(tc.params))
			}
			total := 0
			for i, p := range tc.params {
				if all[i].Name != p.name || !all[i].Value.Shape().Eq(p.shape) || !all[i].Trainable {
					t.Fatalf("parameter %d is %s %v, want trainable %s %v", i, all[i].Name, all[i].Value.Shape(), p.name, p.shape)
				}
				total += all[i].Size()
			}
			if total != tc.count {
				t.Fatalf("parameters hold %d values, summary says %d", total, tc.count)
			}
		})
	}
}

// TestSeparableConv2DValues checks the separable layer's output against its definition, computed here
// with plain loops: a depthwise 3×3 convolution (stride 2, TensorFlow SAME) of each channel, then for
// every output filter a weighted sum of the channels plus the bias.
func TestSeparableConv2DValues(t *testing.T) {
	const n, c, h, w, f, k, s = 2, 3, 6, 5, 4, 3, 2
	b, x := newTestBuilder(t, n, c, h, w)
	y, err := SeparableConv2D(SeparableOptions{Filters: f, Kernel: k, Stride: s, Padding: graph.Same, Name: "sep"})(b, x)
	if err != nil {
		t.Fatal(err)
	}
	bias, _ := b.ParamByName("sep/bias")
	for i := range bias.Value.Float64s() {
		bias.Value.Float64s()[i] = float64(i) - 1.5 // non-zero, so a missing bias shows
	}
	e := graph.NewExec(1)
	defer e.Close()
	prog, err := graph.Compile(e, y)
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	got := prog.Value(y).Float64s()
	dk, _ := b.ParamByName("sep/depthwise_kernel")
	pk, _ := b.ParamByName("sep/pointwise_kernel")
	xv, dw, pw, bv := x.Value().Data().([]float64), dk.Value.Float64s(), pk.Value.Float64s(), bias.Value.Float64s()
	// SAME, stride 2: 6 rows → 3 (total padding 1: 0 before, 1 after); 5 columns → 3 (padding 1 and 1).
	oh, ow, top, left := 3, 3, 0, 1
	for in := 0; in < n; in++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				var mid [c]float64
				for ch := 0; ch < c; ch++ {
					for i := 0; i < k; i++ {
						for j := 0; j < k; j++ {
							iy, ix := oy*s-top+i, ox*s-left+j
							if iy >= 0 && iy < h && ix >= 0 && ix < w {
								mid[ch] += xv[((in*c+ch)*h+iy)*w+ix] * dw[(ch*k+i)*k+j]
							}
						}
					}
				}
				for fo := 0; fo < f; fo++ {
					want := bv[fo]
					for ch := 0; ch < c; ch++ {
						want += pw[fo*c+ch] * mid[ch]
					}
					if g := got[((in*f+fo)*oh+oy)*ow+ox]; math.Abs(g-want) > 1e-12 {
						t.Fatalf("y[%d, %d, %d, %d] = %.15g, want %.15g", in, fo, oy, ox, g, want)
					}
				}
			}
		}
	}
}

// TestSeparableInitialiser checks the Glorot limits Keras uses: its depthwise kernel is (K, K, C, M), so
// fan-in K·K·C and fan-out K·K·M; its pointwise kernel is (1, 1, C, Filters).
func TestSeparableInitialiser(t *testing.T) {
	const c, f, k = 64, 32, 3
	b, x := newTestBuilder(t, 1, c, 5, 5)
	if _, err := SeparableConv2D(SeparableOptions{Filters: f, Kernel: k, Padding: graph.Same, Name: "sep"})(b, x); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		param string
		limit float64
	}{
		{"sep/depthwise_kernel", math.Sqrt(6 / float64(k*k*c+k*k*1))},
		{"sep/pointwise_kernel", math.Sqrt(6 / float64(c+f))},
	} {
		p, _ := b.ParamByName(tc.param)
		var peak float64
		for _, v := range p.Value.Float64s() {
			peak = max(peak, math.Abs(v))
		}
		// Hundreds of uniform draws: the largest is within the limit and close to it.
		if peak > tc.limit || peak < 0.9*tc.limit {
			t.Fatalf("%s: largest |value| %g, want just under the Glorot limit %g", tc.param, peak, tc.limit)
		}
	}
}

func TestConcatLayer(t *testing.T) {
	cases := []struct {
		name    string
		shapes  [][]int
		want    tensor.Shape
		wantErr string
	}{
		{name: "fire module branches", shapes: [][]int{{2, 4, 5, 5}, {2, 4, 5, 5}}, want: tensor.Shape{2, 8, 5, 5}},
		{name: "three feature matrices", shapes: [][]int{{3, 2}, {3, 5}, {3, 1}}, want: tensor.Shape{3, 8}},
		{name: "one input", shapes: [][]int{{2, 4, 5, 5}}, wantErr: "any"},
		{name: "sizes differ", shapes: [][]int{{2, 4, 5, 5}, {2, 4, 4, 5}}, wantErr: "shape"},
		{name: "vectors", shapes: [][]int{{4}, {4}}, wantErr: "shape"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := G.NewGraph()
			b, err := graph.NewBuilder(g, graph.NewParams(), graph.BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var xs []*G.Node
			for _, s := range tc.shapes {
				xs = append(xs, G.NewTensor(g, tensor.Float32, len(s), G.WithShape(s...)))
			}
			y, err := Concat(b.In("fire2"), "concat", xs...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr == "any" && err == nil, tc.wantErr == "shape" && !errors.Is(err, graph.ErrShape):
				t.Fatalf("error %v, want a %s error", err, tc.wantErr)
			case tc.wantErr == "":
				if !y.Shape().Eq(tc.want) {
					t.Fatalf("output shape %v, want %v", y.Shape(), tc.want)
				}
				rows := b.Layers()
				if len(rows) != 1 || rows[0].Name != "fire2/concat" || rows[0].Type != "Concatenate" {
					t.Fatalf("summary %+v, want one Concatenate row fire2/concat", rows)
				}
			}
		})
	}
}

func TestNamedActivation(t *testing.T) {
	b, x := newTestBuilder(t, 1, 2, 3, 3)
	l := NamedActivation("relu_conv1", ReLU)
	if _, err := Sequential(l, NamedActivation("", ReLU), NamedActivation("", ReLU))(b.In("m"), x); err != nil {
		t.Fatal(err)
	}
	want := []string{"m/relu_conv1", "m/activation", "m/activation_1"}
	rows := b.Layers()
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		if r.Name != want[i] || r.Type != "Activation" {
			t.Fatalf("row %d: %s (%s), want %s (Activation)", i, r.Name, r.Type, want[i])
		}
	}
}
