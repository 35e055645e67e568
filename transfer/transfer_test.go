package transfer

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"

	"fovea/arch"
	"fovea/data"
	"fovea/graph"
	"fovea/graph/layers"
	"fovea/training"
)

// tinyBackbone is a two-layer convolutional backbone with BatchNorm, standing in for Xception.
type tinyBackbone struct{}

func (tinyBackbone) Name() string                    { return "tiny" }
func (tinyBackbone) InputShape() (c, h, w int)       { return 3, 8, 8 }
func (tinyBackbone) Preprocessing() data.ChannelNorm { return data.ScaleToUnit(3) }
func (tinyBackbone) Features(b *graph.Builder, x *G.Node) (*G.Node, error) {
	return layers.Sequential(
		layers.Conv2D(layers.ConvOptions{Filters: 4, Kernel: 3, Padding: graph.Same, NoBias: true, Name: "block1_conv1"}),
		layers.BatchNorm(layers.BatchNormOptions{Name: "block1_conv1_bn"}),
		layers.Activate(layers.ReLU),
		layers.Conv2D(layers.ConvOptions{Filters: 6, Kernel: 3, Stride: 2, Padding: graph.Same, Name: "block2_conv1"}),
		layers.Activate(layers.ReLU),
	)(b, x)
}

func newTrainer(t *testing.T, params *graph.Params, seed uint64) *training.Trainer {
	t.Helper()
	model := arch.Classifier{Backbone: tinyBackbone{}, NumClasses: 3, Dropout: 0.2}
	tr, err := training.NewTrainer(model, params, training.Config{BatchSize: 4, Seed: seed, Optimizer: training.OptimizerConfig{Name: "adam"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr
}

func TestLoadIsStrict(t *testing.T) {
	dir := t.TempDir()
	src := newTrainer(t, nil, 1)
	path := filepath.Join(dir, "w.safetensors")
	if err := src.SaveWeights(path); err != nil {
		t.Fatal(err)
	}
	dst := newTrainer(t, nil, 2)
	if _, err := Load(path, dst.Params(), LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range src.Params().All() {
		q, _ := dst.Params().Get(p.Name)
		if !slices.Equal(p.Value.Float32s(), q.Value.Float32s()) {
			t.Fatalf("%s not loaded", p.Name)
		}
	}

	// A backbone-only file: the head is missing, which is an error unless allowed.
	var backbone []training.NamedTensor
	for _, p := range src.Params().All() {
		if !strings.HasPrefix(p.Name, "head/") {
			backbone = append(backbone, training.ParamTensors([]*graph.Param{p}, "")...)
		}
	}
	// Plus one unexpected tensor and one of the wrong shape.
	backbone = append(backbone, training.NamedTensor{Name: "extra/kernel", DType: "F32", Shape: []int{2}, Data: []float32{1, 2}})
	for i := range backbone {
		if backbone[i].Name == "block2_conv1/bias" {
			backbone[i] = training.NamedTensor{Name: "block2_conv1/bias", DType: "F32", Shape: []int{5}, Data: make([]float32, 5)}
		}
	}
	bad := filepath.Join(dir, "bad.safetensors")
	if err := training.SaveCheckpoint(bad, backbone, nil); err != nil {
		t.Fatal(err)
	}
	_, err := Load(bad, dst.Params(), LoadOptions{})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("error %v, want ErrMismatch", err)
	}
	for _, want := range []string{"missing head/dense/kernel", "unexpected extra/kernel", "block2_conv1/bias: file has F32 [5]"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	_, err = Load(bad, dst.Params(), LoadOptions{Missing: []string{"head/"}})
	if err == nil || strings.Contains(err.Error(), "missing head/") {
		t.Fatalf("with the head allowed missing, error %v should only list the two other problems", err)
	}
}

// TestFrozenBackboneCostsOneForwardPass checks that with the backbone frozen the training program has
// no backward kernels for it and the optimiser keeps state for the head only; UnfreezeTop then brings
// back the gradient of the top layer only.
func TestFrozenBackboneCostsOneForwardPass(t *testing.T) {
	params := newTrainer(t, nil, 1).Params()
	if n := FreezeAllBut(params, "head/"); n != 5 {
		t.Fatalf("froze %d parameters, want 5 (two kernels, a bias, gamma and beta)", n)
	}
	tr := newTrainer(t, params, 1)
	kinds := programKinds(t, tr)
	for _, k := range kinds {
		if strings.Contains(k, "backprop") || strings.Contains(k, "batchnorm_train") {
			t.Fatalf("frozen backbone still has %s in its training program: %v", k, kinds)
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 4*3*8*8)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	if _, _, err := tr.TrainOnBatch(x, []int32{0, 1, 2, 1}, 1e-3); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ckpt.safetensors")
	if err := tr.SaveCheckpoint(path); err != nil {
		t.Fatal(err)
	}
	tensors, _, err := training.LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, nt := range tensors {
		if strings.HasPrefix(nt.Name, "optimizer/") && !strings.HasPrefix(nt.Name, "optimizer/head/") {
			t.Fatalf("optimizer state for frozen parameter: %s", nt.Name)
		}
	}

	top, err := UnfreezeTop(params, 1, "head/")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(top, []string{"block2_conv1"}) {
		t.Fatalf("unfroze %v, want [block2_conv1]", top)
	}
	kinds = programKinds(t, newTrainer(t, params, 1))
	if !slices.Contains(kinds, "conv2d_backprop_filter") || slices.Contains(kinds, "batchnorm_train_grad") {
		t.Fatalf("after unfreezing the top layer, kernels %v", kinds)
	}
	if n := UnfreezeAll(params); n != 3 {
		t.Fatalf("UnfreezeAll changed %d parameters, want 3", n)
	}
	if p, _ := params.Get("block1_conv1_bn/moving_mean"); p.Trainable {
		t.Fatal("UnfreezeAll made a moving statistic trainable")
	}
}

func programKinds(t *testing.T, tr *training.Trainer) []string {
	t.Helper()
	prog, err := tr.Program(4, true)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range prog.Steps() {
		if s.Kernel != nil {
			kinds = append(kinds, s.Kernel.Kind())
		}
	}
	return kinds
}
