package keras

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/arch"
	"fovea/graph"
	"fovea/graph/layers"
	"fovea/training"
)

// buildParams builds a model of the given layers on one input of shape (1, c, h, w) and returns its
// parameters.
func buildParams(t *testing.T, c, h, w int, ls ...layers.Layer) *graph.Params {
	t.Helper()
	g := G.NewGraph()
	params := graph.NewParams()
	b, err := graph.NewBuilder(g, params, graph.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, c, h, w), G.WithName("x"))
	if _, err := layers.Sequential(ls...)(b, x); err != nil {
		t.Fatal(err)
	}
	return params
}

// Small fovea models with the layers of the synthetic files (testdata/make_keras_h5.py).
func smallModel(t *testing.T, filters int, convBias bool) *graph.Params {
	return buildParams(t, 2, 4, 4,
		layers.Conv2D(layers.ConvOptions{Filters: filters, Kernel: 3, NoBias: !convBias}), // conv2d
		layers.BatchNorm(layers.BatchNormOptions{}),                                       // batch_normalization
		layers.Conv2D(layers.ConvOptions{Filters: 3, Kernel: 1, NoBias: true}),            // conv2d_1
		layers.Flatten(),
		layers.Dense(layers.DenseOptions{Units: 5}), // dense
	)
}

func separableModel(t *testing.T) *graph.Params {
	return buildParams(t, 3, 6, 6,
		layers.Conv2D(layers.ConvOptions{Filters: 4, Kernel: 3, NoBias: true, Name: "block1_conv1"}),
		layers.BatchNorm(layers.BatchNormOptions{Name: "block1_conv1_bn"}),
		layers.SeparableConv2D(layers.SeparableOptions{Filters: 6, Kernel: 3, Padding: graph.Same, NoBias: true, Name: "block2_sepconv1"}),
		layers.DepthwiseConv2D(layers.DepthwiseOptions{Kernel: 3, Multiplier: 2, Padding: graph.Same, Name: "dwconv"}),
		layers.GlobalAvgPool2D(),
		layers.Dense(layers.DenseOptions{Units: 3, Name: "predictions"}),
	)
}

func nestedModel(t *testing.T) *graph.Params {
	g := G.NewGraph()
	params := graph.NewParams()
	b, err := graph.NewBuilder(g, params, graph.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(1, 3, 8, 8), G.WithName("x"))
	x, err = layers.Conv2D(layers.ConvOptions{Filters: 8, Kernel: 3, Stride: 2, Name: "conv1"})(b, x)
	if err != nil {
		t.Fatal(err)
	}
	_, err = layers.Sequential(
		layers.Conv2D(layers.ConvOptions{Filters: 2, Kernel: 1, Name: "squeeze1x1"}),
		layers.Conv2D(layers.ConvOptions{Filters: 4, Kernel: 3, Padding: graph.Same, Name: "expand3x3"}),
	)(b.In("fire2"), x)
	if err != nil {
		t.Fatal(err)
	}
	return params
}

// TestLayouts checks the conversions on small kernels against the index formulas written out by hand.
func TestLayouts(t *testing.T) {
	seq := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i)
		}
		return v
	}
	tests := []struct {
		kind      string
		shape     []int
		wantShape []int
		want      []float32
	}{
		// (kh=1, kw=2, in=2, out=3): value (y, x, i, o) is 6x + 3i + o; OIHW order is o, i, x.
		{"kernel", []int{1, 2, 2, 3}, []int{3, 2, 1, 2}, []float32{0, 6, 3, 9, 1, 7, 4, 10, 2, 8, 5, 11}},
		// (kh=2, kw=1, in=2, mult=2): value (y, c, m) is 4y + 2c + m; output channel c·2+m, then y.
		{"depthwise_kernel", []int{2, 1, 2, 2}, []int{4, 1, 2, 1}, []float32{0, 4, 1, 5, 2, 6, 3, 7}},
		// (1, 1, in=2, out=3): value (i, o) is 3i + o.
		{"pointwise_kernel", []int{1, 1, 2, 3}, []int{3, 2, 1, 1}, []float32{0, 3, 1, 4, 2, 5}},
		{"kernel", []int{2, 3}, []int{2, 3}, []float32{0, 1, 2, 3, 4, 5}},
		{"moving_variance", []int{3}, []int{3}, []float32{0, 1, 2}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.kind, tc.shape), func(t *testing.T) {
			n := 1
			for _, d := range tc.shape {
				n *= d
			}
			shape, got, err := toFovea(tc.kind, tc.shape, seq(n))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shape, tc.wantShape) || !slices.Equal(got, tc.want) {
				t.Fatalf("%v %v, want %v %v", shape, got, tc.wantShape, tc.want)
			}
		})
	}
	for _, bad := range []struct {
		kind  string
		shape []int
	}{{"kernel", []int{3}}, {"pointwise_kernel", []int{3, 3, 2, 2}}, {"bias", []int{2, 2}}, {"recurrent_kernel", []int{2, 2}}} {
		if _, _, err := toFovea(bad.kind, bad.shape, make([]float32, 64)); err == nil {
			t.Errorf("%s %v: no error", bad.kind, bad.shape)
		}
	}
}

// TestConvertSynthetic converts the synthetic files onto fovea models with the same layers and compares
// every tensor, bit for bit, with numpy's conversion (recorded in the manifest); it also writes the
// result as safetensors and loads it strictly into a fresh model.
func TestConvertSynthetic(t *testing.T) {
	dir, m := syntheticFiles(t)
	tests := []struct {
		file  string
		model func(*testing.T) *graph.Params
	}{
		{"small_weights.h5", func(t *testing.T) *graph.Params { return smallModel(t, 4, true) }},
		{"small_gzip.h5", func(t *testing.T) *graph.Params { return smallModel(t, 4, true) }},
		{"small_model.h5", func(t *testing.T) *graph.Params { return smallModel(t, 4, true) }},
		{"separable.h5", separableModel},
		{"nested.h5", nestedModel},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			f, err := ReadWeights(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			tensors, meta, err := Convert(f, tc.model(t), Options{Model: "test"})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, l := range m[tc.file].Layers {
				for _, w := range l.Weights {
					want = append(want, fmt.Sprint(w.FoveaShape, w.FoveaSHA256))
				}
			}
			var got []string
			for _, tn := range tensors {
				got = append(got, fmt.Sprint(tn.Shape, sha32(tn.Data.([]float32))))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("converted\n%s\nnumpy\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if meta["format"] != "fovea.weights.v1" || meta["model"] != "test" || meta["source"] != tc.file ||
				meta["source_sha256"] != f.SHA256 || meta["keras_version"] != "2.4.0" || meta["keras_backend"] != "tensorflow" ||
				meta["converter"] != "fovea/transfer/keras "+ConverterVersion {
				t.Errorf("metadata %v", meta)
			}
			out := filepath.Join(t.TempDir(), "w.safetensors")
			if err := training.SaveCheckpoint(out, tensors, meta); err != nil {
				t.Fatal(err)
			}
			fresh := tc.model(t)
			loaded, _, err := training.LoadCheckpoint(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := training.LoadParamTensors(fresh, loaded, ""); err != nil {
				t.Fatal(err)
			}
			for i, p := range fresh.All() {
				if p.Name != tensors[i].Name || !slices.Equal(p.Value.Float32s(), tensors[i].Data.([]float32)) {
					t.Errorf("loaded %s differs from converted %s", p.Name, tensors[i].Name)
				}
			}
		})
	}
}

// TestConvertMismatch checks that every way a model can differ from the file is reported, all at once.
func TestConvertMismatch(t *testing.T) {
	dir, _ := syntheticFiles(t)
	f, err := ReadWeights(filepath.Join(dir, "small_weights.h5"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		model func(*testing.T) *graph.Params
		opts  Options
		want  []string
	}{
		{"wider convolution", func(t *testing.T) *graph.Params { return smallModel(t, 5, true) }, Options{},
			[]string{`weight "conv2d/kernel:0" [3 3 2 4] becomes [4 2 3 3], parameter conv2d/kernel is [5 2 3 3]`,
				`parameter batch_normalization/gamma is [5]`}},
		{"convolution without bias", func(t *testing.T) *graph.Params { return smallModel(t, 4, false) }, Options{},
			[]string{`model layer "conv2d": the model layer has no bias for weight "conv2d/bias:0"`}},
		{"missing layer", func(t *testing.T) *graph.Params {
			return buildParams(t, 2, 4, 4, layers.Conv2D(layers.ConvOptions{Filters: 4, Kernel: 3}), layers.BatchNorm(layers.BatchNormOptions{}))
		}, Options{}, []string{`file layer "conv2d_1" (1 weights) has no model layer`, `file layer "dense" (2 weights) has no model layer`}},
		{"extra layer", func(t *testing.T) *graph.Params {
			p := smallModel(t, 4, true)
			extra := graph.NewParams()
			for _, q := range p.All() {
				mustAdd(t, extra, q)
			}
			mustAdd(t, extra, &graph.Param{Name: "predictions/kernel", Value: tensor.New(tensor.WithShape(5, 2), tensor.Of(tensor.Float32))})
			return extra
		}, Options{}, []string{`model layer "predictions" (1 parameters) has no weights in the file`}},
		{"parameter outside a layer", func(t *testing.T) *graph.Params {
			p := graph.NewParams()
			mustAdd(t, p, &graph.Param{Name: "scale", Value: tensor.New(tensor.WithShape(1), tensor.Of(tensor.Float32))})
			return p
		}, Options{}, []string{`parameter "scale" has no layer scope`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Convert(f, tc.model(t), tc.opts)
			if !errors.Is(err, ErrMismatch) || !strings.Contains(err.Error(), f.Path) {
				t.Fatalf("error %v, want ErrMismatch naming the file", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func mustAdd(t *testing.T, ps *graph.Params, p *graph.Param) {
	t.Helper()
	if err := ps.Add(p); err != nil {
		t.Fatal(err)
	}
}

// TestPairLayers checks the pairing: explicit names by name, wherever they are; Keras' automatic names
// in order, whatever their numbers.
func TestPairLayers(t *testing.T) {
	tests := []struct {
		name        string
		file, model []string
		want        string // "file→model" pairs, then unpaired layers
	}{
		{"same order", []string{"a", "b", "c"}, []string{"a", "b", "c"}, "a→a b→b c→c"},
		{"explicit names out of order", []string{"block2_sepconv1", "block2_sepconv2", "conv2d_1"},
			[]string{"conv2d", "block2_sepconv1", "block2_sepconv2"}, "conv2d_1→conv2d block2_sepconv1→block2_sepconv1 block2_sepconv2→block2_sepconv2"},
		{"automatic names in order", []string{"conv2d_1", "batch_normalization_1", "conv2d_2"},
			[]string{"conv2d", "batch_normalization", "conv2d_1"}, "conv2d_1→conv2d batch_normalization_1→batch_normalization conv2d_2→conv2d_1"},
		{"renamed explicit layers pair in order", []string{"x1", "x2"}, []string{"y1", "y2"}, "x1→y1 x2→y2"},
		{"extra file layer", []string{"a", "b", "c"}, []string{"a", "c"}, "a→a c→c file:b"},
		{"extra model layer", []string{"a"}, []string{"a", "head/dense"}, "a→a model:head/dense"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var file []Layer
			for _, n := range tc.file {
				file = append(file, Layer{Name: n})
			}
			var model []modelLayer
			for _, n := range tc.model {
				model = append(model, modelLayer{name: n})
			}
			pairs, ef, em := pairLayers(file, model)
			var got []string
			for _, p := range pairs {
				got = append(got, tc.file[p[0]]+"→"+tc.model[p[1]])
			}
			for _, i := range ef {
				got = append(got, "file:"+tc.file[i])
			}
			for _, j := range em {
				got = append(got, "model:"+tc.model[j])
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Fatalf("%s, want %s", s, tc.want)
			}
		})
	}
	for name, want := range map[string]bool{"conv2d": true, "conv2d_7": true, "batch_normalization_12": true, "dense_1": true,
		"conv1": false, "block1_conv1": false, "conv2d_transpose": true, "fire2/squeeze1x1": false, "dense_head": false} {
		if automaticName(name) != want {
			t.Errorf("automaticName(%q) = %v", name, !want)
		}
	}
}

// TestConvertSkip checks that a classifier head the file does not hold can be left out.
func TestConvertSkip(t *testing.T) {
	dir, _ := syntheticFiles(t)
	f, err := ReadWeights(filepath.Join(dir, "nested.h5"))
	if err != nil {
		t.Fatal(err)
	}
	params := nestedModel(t)
	mustAdd(t, params, &graph.Param{Name: "head/dense/kernel", Value: tensor.New(tensor.WithShape(4, 2), tensor.Of(tensor.Float32))})
	if _, _, err := Convert(f, params, Options{}); !errors.Is(err, ErrMismatch) {
		t.Fatalf("with the head: %v, want ErrMismatch", err)
	}
	tensors, _, err := Convert(f, params, Options{Skip: []string{"head/"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tensors) != 6 || tensors[5].Name != "fire2/expand3x3/bias" {
		t.Fatalf("%d tensors, last %s", len(tensors), tensors[len(tensors)-1].Name)
	}
}

// TestConvertSqueezeNet converts the real SqueezeNet weights onto arch.SqueezeNet, writes them with
// ConvertFile and loads them back strictly (every parameter, nothing else).
func TestConvertSqueezeNet(t *testing.T) {
	path := realSqueezeNet(t)
	out := filepath.Join(t.TempDir(), "squeezenet.safetensors")
	s, err := ConvertFile(path, out, arch.SqueezeNet{})
	if err != nil {
		t.Fatal(err)
	}
	if s != (Summary{Model: "squeezenet", Layers: 25, Tensors: 50, Values: 722496}) {
		t.Fatalf("summary %+v", s)
	}
	params, err := BackboneParams(arch.SqueezeNet{})
	if err != nil {
		t.Fatal(err)
	}
	tensors, meta, err := training.LoadCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := training.LoadParamTensors(params, tensors, ""); err != nil {
		t.Fatal(err)
	}
	if meta["model"] != "squeezenet" || meta["source_sha256"] != "2d935d8c102ad1232484a77da8e6fbdf3ff4ab608974a0d8b6283115ffff204f" {
		t.Errorf("metadata %v", meta)
	}
	// conv1's kernel in OIHW is the file's HWIO kernel transposed; its checksum was computed with h5py
	// and numpy: np.transpose(kernel, (3, 2, 0, 1)).
	k, _ := params.Get("conv1/kernel")
	if got, want := sha32(k.Value.Float32s()), squeezeNetConv1OIHW; got != want {
		t.Errorf("conv1/kernel sha256 %s, want %s", got, want)
	}
}

// squeezeNetConv1OIHW is the SHA-256 of the real file's conv1 kernel in OIHW order, float32 little-endian.
const squeezeNetConv1OIHW = "90e4b9d94ef5875878d9b147a6afdc926ab132b9f81a39ebe0cbb9c649542b62"

// TestConvertXception writes Keras' Xception without top (layer for layer, in Keras' layer order and
// with Keras 2.0's automatic names, random weights: 83 MB) with h5py and converts it onto arch.Xception.
func TestConvertXception(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and converts an 83 MB file")
	}
	needH5py(t)
	dir := t.TempDir()
	if out, err := exec.Command(h5py, filepath.Join("testdata", "make_keras_h5.py"), "--xception", dir).CombinedOutput(); err != nil {
		t.Fatalf("make_keras_h5.py: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "xception.safetensors")
	s, err := ConvertFile(filepath.Join(dir, "xception.h5"), out, arch.Xception{Height: 71, Width: 71})
	if err != nil {
		t.Fatal(err)
	}
	// Keras reports 20,861,480 parameters for Xception without top, in 80 layers with weights.
	if s != (Summary{Model: "xception", Layers: 80, Tensors: 234, Values: 20861480}) {
		t.Fatalf("summary %+v", s)
	}
	tensors, _, err := training.LoadCheckpoint(out)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	for _, tn := range tensors {
		byName[tn.Name] = fmt.Sprint(tn.Shape, sha32(tn.Data.([]float32)))
	}
	var m manifest
	readManifest(t, filepath.Join(dir, "manifest.json"), &m)
	// The file's conv2d_1 … conv2d_4 (Keras 2.0 names) are fovea's conv2d … conv2d_3, in order.
	rename := func(layer string) string {
		for i := 1; i <= 4; i++ {
			for _, base := range []string{"conv2d", "batch_normalization"} {
				if layer == fmt.Sprintf("%s_%d", base, i) {
					if i == 1 {
						return base
					}
					return fmt.Sprintf("%s_%d", base, i-1)
				}
			}
		}
		return layer
	}
	for _, l := range m["xception.h5"].Layers {
		for _, w := range l.Weights {
			kind := Weight{Name: w.Name}.Kind()
			name := rename(l.Name) + "/" + kind
			if got, want := byName[name], fmt.Sprint(w.FoveaShape, w.FoveaSHA256); got != want {
				t.Errorf("%s: %s, want %s", name, got, want)
			}
		}
	}
}
