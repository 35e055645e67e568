package arch

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/graph"
)

var (
	_ Backbone = Xception{}
	_ Backbone = SqueezeNet{}
)

// features builds bb's feature extractor on a fresh float32 graph for a batch of n images of its input
// shape, with parameters from (or into) params, and returns the builder and the features.
func features(t *testing.T, bb Backbone, params *graph.Params, n int) (*graph.Builder, *G.Node) {
	t.Helper()
	g := G.NewGraph()
	b, err := graph.NewBuilder(g, params, graph.BuildOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, h, w := bb.InputShape()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(n, c, h, w), G.WithName("x"))
	f, err := bb.Features(b, x)
	if err != nil {
		t.Fatalf("%s features: %v", bb.Name(), err)
	}
	return b, f
}

func TestXceptionStructure(t *testing.T) {
	params := graph.NewParams()
	b, f := features(t, Xception{}, params, 1)
	summary := graph.FormatSummary("xception", b.Layers(), params)
	// Keras: Xception(include_top=False, weights=None).summary() reports 20,861,480 parameters, 54,528
	// non-trainable. Independently: the non-trainable ones are BN moving means and variances, 2·Σ BN
	// channels = 2·(32+64 + 3·128 + 3·256 + 3·728 + 24·728 + 728+2·1024 + 1536+2048) = 2·27,264.
	for _, want := range []string{"Total params: 20,861,480", "Trainable params: 20,806,952", "Non-trainable params: 54,528"} {
		if !strings.Contains(summary, want) {
			t.Fatalf("summary lacks %q:\n%s", want, summary)
		}
	}
	if want := (tensor.Shape{1, 2048, 10, 10}); !f.Shape().Eq(want) {
		t.Fatalf("features at 299×299: %v, want %v", f.Shape(), want)
	}
	rows := b.Layers()
	// Keras' layer names, in order, at the start and the end of the network, and the summary's
	// parameter count of a separable convolution (3·3·64 + 64·128, no bias).
	head := []string{"block1_conv1", "block1_conv1_bn", "block1_conv1_act", "block1_conv2", "block1_conv2_bn", "block1_conv2_act",
		"conv2d", "batch_normalization", "block2_sepconv1", "block2_sepconv1_bn", "block2_sepconv2_act", "block2_sepconv2",
		"block2_sepconv2_bn", "block2_pool", "add", "conv2d_1", "batch_normalization_1", "block3_sepconv1_act", "block3_sepconv1"}
	tail := []string{"block14_sepconv1", "block14_sepconv1_bn", "block14_sepconv1_act", "block14_sepconv2", "block14_sepconv2_bn", "block14_sepconv2_act"}
	for i, name := range head {
		if rows[i].Name != name {
			t.Fatalf("layer %d is %s, want %s", i, rows[i].Name, name)
		}
	}
	for i, name := range tail {
		if r := rows[len(rows)-len(tail)+i]; r.Name != name {
			t.Fatalf("layer %d from the end is %s, want %s", len(tail)-i, r.Name, name)
		}
	}
	if r := rows[8]; r.Type != "SeparableConv2D" || r.Params != 3*3*64+64*128 {
		t.Fatalf("block2_sepconv1 row %+v, want a SeparableConv2D with 8,768 parameters", r)
	}
	// 36 convolutional layers (2 convolutions, 34 separable) plus 4 shortcut convolutions, and 40 BNs.
	count := map[string]int{}
	for _, r := range rows {
		count[r.Type]++
	}
	if count["Conv2D"] != 6 || count["SeparableConv2D"] != 34 || count["BatchNormalization"] != 40 || count["Add"] != 12 || count["MaxPooling2D"] != 4 {
		t.Fatalf("layer types %v", count)
	}
	// Parameter names are Keras' weight names, shortcuts and middle flow included.
	for _, name := range []string{
		"block1_conv1/kernel", "block1_conv1_bn/moving_variance", "conv2d/kernel", "conv2d_3/kernel", "batch_normalization_3/beta",
		"block2_sepconv1/depthwise_kernel", "block12_sepconv3/pointwise_kernel", "block12_sepconv3_bn/gamma",
		"block14_sepconv2/pointwise_kernel", "block14_sepconv2_bn/moving_mean",
	} {
		if _, ok := params.Get(name); !ok {
			t.Errorf("no parameter %s", name)
		}
	}
	shapes := map[string]tensor.Shape{
		"block1_conv1/kernel":               {32, 3, 3, 3},
		"conv2d/kernel":                     {128, 64, 1, 1},
		"conv2d_3/kernel":                   {1024, 728, 1, 1},
		"block13_sepconv2/depthwise_kernel": {728, 1, 3, 3},
		"block13_sepconv2/pointwise_kernel": {1024, 728, 1, 1},
		"block14_sepconv2_bn/gamma":         {2048},
	}
	for name, want := range shapes {
		if p, ok := params.Get(name); !ok || !p.Value.Shape().Eq(want) {
			t.Errorf("parameter %s: %v, want shape %v", name, p, want)
		}
	}
	for _, p := range params.All() {
		if strings.HasPrefix(p.Name, "block") && strings.Contains(p.Name, "sepconv") && strings.HasSuffix(p.Name, "/bias") {
			t.Errorf("separable convolutions have no bias, found %s", p.Name)
		}
	}
}

func TestXceptionInputSizes(t *testing.T) {
	params := graph.NewParams() // shared: the weights do not depend on the input size
	cases := []struct {
		model Xception
		want  tensor.Shape
	}{
		{Xception{Height: 224, Width: 224}, tensor.Shape{2, 2048, 7, 7}},
		{Xception{Height: 71, Width: 71}, tensor.Shape{2, 2048, 3, 3}},
		{Xception{Height: 150, Width: 100}, tensor.Shape{2, 2048, 5, 3}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%d", tc.model.Height, tc.model.Width), func(t *testing.T) {
			_, f := features(t, tc.model, params, 2)
			if !f.Shape().Eq(tc.want) {
				t.Fatalf("features %v, want %v", f.Shape(), tc.want)
			}
		})
	}
	// The transfer-learning classifier on top.
	g := G.NewGraph()
	b, err := graph.NewBuilder(g, params, graph.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(2, 3, 224, 224), G.WithName("x"))
	logits, err := Classifier{Backbone: Xception{Height: 224, Width: 224}, NumClasses: 5, Dropout: 0.2}.Build(b, x)
	if err != nil {
		t.Fatal(err)
	}
	if !logits.Shape().Eq(tensor.Shape{2, 5}) {
		t.Fatalf("logits %v, want (2, 5)", logits.Shape())
	}
	if _, ok := params.Get("head/dense/kernel"); !ok {
		t.Fatal("no head/dense/kernel")
	}
}

func TestBackboneInputErrors(t *testing.T) {
	cases := []struct {
		name  string
		bb    Backbone
		shape []int
	}{
		{"xception below 71", Xception{}, []int{1, 3, 70, 80}},
		{"xception grey images", Xception{}, []int{1, 1, 99, 99}},
		{"xception matrix", Xception{}, []int{1, 3}},
		{"squeezenet below 48", SqueezeNet{}, []int{1, 3, 64, 47}},
		{"squeezenet 4 channels", SqueezeNet{}, []int{1, 4, 64, 64}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := G.NewGraph()
			b, err := graph.NewBuilder(g, graph.NewParams(), graph.BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			x := G.NewTensor(g, tensor.Float32, len(tc.shape), G.WithShape(tc.shape...), G.WithName("x"))
			if _, err := tc.bb.Features(b, x); !errors.Is(err, graph.ErrShape) {
				t.Fatalf("error %v, want ErrShape", err)
			}
		})
	}
}

func TestBackboneDefaults(t *testing.T) {
	cases := []struct {
		bb      Backbone
		name    string
		c, h, w int
		scale   float32
	}{
		{Xception{}, "xception", 3, 299, 299, 1 / 127.5},
		{Xception{Height: 224, Width: 224}, "xception", 3, 224, 224, 1 / 127.5},
		{SqueezeNet{}, "squeezenet", 3, 227, 227, 1},
		{SqueezeNet{Height: 224, Width: 224}, "squeezenet", 3, 224, 224, 1},
	}
	for _, tc := range cases {
		c, h, w := tc.bb.InputShape()
		if tc.bb.Name() != tc.name || c != tc.c || h != tc.h || w != tc.w {
			t.Errorf("%s %dx%dx%d, want %s %dx%dx%d", tc.bb.Name(), c, h, w, tc.name, tc.c, tc.h, tc.w)
		}
		if p := tc.bb.Preprocessing(); p.Validate(3) != nil || p.Scale[0] != tc.scale {
			t.Errorf("%s preprocessing %+v", tc.name, p)
		}
	}
	if o := (SqueezeNet{}).Preprocessing().Order; len(o) != 3 || o[0] != 2 {
		t.Errorf("SqueezeNet's preprocessing must be BGR, order %v", o)
	}
}
