package cuda

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"fovea/arch"
	"fovea/graph"
	"fovea/graph/layers"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// trainingProgram compiles a model's training step (loss, correct count, every gradient and the values
// of BatchNorm's moving-statistics updates) as the trainer does, on random inputs and labels.
func trainingProgram(t *testing.T, m arch.Model, batch int, smoothing float64) (*graph.Program, []*tensor.Dense) {
	return trainingProgramWith(t, m, graph.NewParams(), batch, smoothing)
}

// trainingProgramWith is trainingProgram with given parameters (new ones are created and initialised).
func trainingProgramWith(t *testing.T, m arch.Model, params *graph.Params, batch int, smoothing float64) (*graph.Program, []*tensor.Dense) {
	t.Helper()
	g := G.NewGraph()
	b, err := graph.NewBuilder(g, params, graph.BuildOptions{Training: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	c, h, w := m.InputShape()
	rng := rand.New(rand.NewPCG(3, 4))
	xT := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(batch, c, h, w))
	for i := range xT.Float32s() {
		xT.Float32s()[i] = float32(rng.NormFloat64())
	}
	yT := tensor.New(tensor.Of(tensor.Int32), tensor.WithShape(batch))
	for i := range yT.Int32s() {
		yT.Int32s()[i] = int32(rng.IntN(m.Classes()))
	}
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(batch, c, h, w), G.WithName("images"), G.WithValue(xT))
	y := G.NewTensor(g, tensor.Int32, 1, G.WithShape(batch), G.WithName("labels"), G.WithValue(yT))
	logits, err := m.Build(b, x)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.ApplyOp(graph.SoftmaxCrossEntropy{Smoothing: smoothing}, logits, y)
	if err != nil {
		t.Fatal(err)
	}
	correct, err := G.ApplyOp(graph.CountCorrect{}, logits, y)
	if err != nil {
		t.Fatal(err)
	}
	var wrt G.Nodes
	for _, p := range b.Params().Trainable() {
		if n, ok := b.ParamNode(p.Name); ok {
			wrt = append(wrt, n)
		}
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	outputs := append(G.Nodes{loss, correct}, grads...)
	seen := map[*G.Node]bool{}
	for _, u := range b.StateUpdates() {
		if !seen[u.Value] { // a BatchNorm layer's mean and variance updates share one BatchStats
			seen[u.Value] = true
			outputs = append(outputs, u.Value)
		}
	}
	prog, err := graph.Compile(graph.NewExec(2), outputs...)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := b.StepNode(); ok {
		prog.Value(s).Int64s()[0] = 5
	}
	var outs []*tensor.Dense
	for _, o := range outputs {
		outs = append(outs, prog.Value(o))
	}
	return prog, outs
}

// smallResNet is a two-stage residual network from ResNet-34's layers: BatchNorm, residual units, a
// strided projection shortcut, GlobalAvgPool.
var smallResNet = arch.ResNet{Label: "resnet-small", Stages: []int{1, 1}, Channels: 1, Height: 28, Width: 28, NumClasses: 10}

// prepared builds m once to create its parameters, then freezes those freeze selects and gives every
// BatchNorm layer random statistics (and γ, β), as a pretrained backbone has: frozen BatchNorm layers
// then normalise with their moving statistics (graph.BatchNormInfer, fused into the preceding
// convolution as graph.ConvBN where it can be).
func prepared(t *testing.T, m arch.Model, freeze func(name string) bool) *graph.Params {
	t.Helper()
	params := graph.NewParams()
	b, err := graph.NewBuilder(G.NewGraph(), params, graph.BuildOptions{Training: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	c, h, w := m.InputShape()
	if _, err := m.Build(b, G.NewTensor(b.Graph(), tensor.Float32, 4, G.WithShape(1, c, h, w), G.WithName("images"))); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, p := range params.All() {
		v := p.Value.Float32s()
		for i := range v {
			switch {
			case strings.HasSuffix(p.Name, "/moving_mean"), strings.HasSuffix(p.Name, "/beta"):
				v[i] = 0.3 * float32(rng.NormFloat64())
			case strings.HasSuffix(p.Name, "/moving_variance"):
				v[i] = 0.5 + rng.Float32()
			case strings.HasSuffix(p.Name, "/gamma"):
				v[i] = 0.8 + 0.4*rng.Float32()
			}
		}
		if freeze(p.Name) {
			p.Trainable = false
		}
	}
	return params
}

// bnInferNet exercises the BatchNorm kinds no layer produces in training: inference-mode BatchNorm
// with a trainable γ (graph.BatchNormInferGammaGrad, unfused since its gradient reads the convolution's
// output), and training-mode BatchNorm on dense activations (N, C).
type bnInferNet struct{}

func (bnInferNet) Name() string              { return "bn-infer" }
func (bnInferNet) InputShape() (c, h, w int) { return 2, 9, 9 }
func (bnInferNet) Classes() int              { return 5 }

func (bnInferNet) Build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	h, err := layers.Conv2D(layers.ConvOptions{Filters: 6, Kernel: 3, Stride: 2, Padding: graph.Same, NoBias: true})(b, x)
	if err != nil {
		return nil, err
	}
	c := tensor.Shape{6}
	gamma, err := b.Param("bn/gamma", c, graph.Constant(1.25), 0, 0, true)
	if err != nil {
		return nil, err
	}
	beta, err := b.Param("bn/beta", c, graph.Constant(0.1), 0, 0, true)
	if err != nil {
		return nil, err
	}
	mean, err := b.Param("bn/moving_mean", c, graph.Constant(0.2), 0, 0, false)
	if err != nil {
		return nil, err
	}
	variance, err := b.Param("bn/moving_variance", c, graph.Constant(1.7), 0, 0, false)
	if err != nil {
		return nil, err
	}
	if h, err = G.ApplyOp(graph.BatchNormInfer{Eps: 1e-3}, h, gamma, beta, mean, variance); err != nil {
		return nil, err
	}
	return layers.Sequential(
		layers.Activate(layers.ReLU), layers.GlobalAvgPool2D(),
		layers.Dense(layers.DenseOptions{Units: 8}), layers.BatchNorm(layers.BatchNormOptions{}), layers.Activate(layers.ReLU),
		layers.Dense(layers.DenseOptions{Units: 5}),
	)(b, h)
}

// depthwiseNet exercises the depthwise kinds outside Xception: after a 1×1 convolution (so that every
// depthwise layer has an input gradient), a depthwise convolution with depth multiplier 2, stride 2 and
// SAME (asymmetric) padding, DepthwiseMaxPool across channel groups, a stride-1 depthwise
// convolution, and overlapping 2×2 average pooling.
type depthwiseNet struct{}

func (depthwiseNet) Name() string              { return "depthwise" }
func (depthwiseNet) InputShape() (c, h, w int) { return 3, 10, 10 }
func (depthwiseNet) Classes() int              { return 4 }

func (depthwiseNet) Build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	return layers.Sequential(
		layers.Conv2D(layers.ConvOptions{Filters: 3, Kernel: 1}),
		layers.DepthwiseConv2D(layers.DepthwiseOptions{Kernel: 3, Stride: 2, Padding: graph.Same, Multiplier: 2}),
		layers.DepthwiseMaxPool(3),
		layers.DepthwiseConv2D(layers.DepthwiseOptions{Kernel: 3, Padding: graph.Same, Activation: layers.ReLU}),
		layers.AvgPool2D(layers.PoolOptions{Size: 2, Stride: 1}),
		layers.GlobalAvgPool2D(),
		layers.Dense(layers.DenseOptions{Units: 4}),
	)(b, x)
}

// oblongNet runs the window kernels on an image that is neither square nor of even size: a SAME
// convolution, overlapping 3×3 max pooling with stride 2, a strided VALID convolution, then a dense head.
type oblongNet struct{}

func (oblongNet) Name() string              { return "oblong" }
func (oblongNet) InputShape() (c, h, w int) { return 2, 11, 14 }
func (oblongNet) Classes() int              { return 3 }

func (oblongNet) Build(b *graph.Builder, x *G.Node) (*G.Node, error) {
	return layers.Sequential(
		layers.Conv2D(layers.ConvOptions{Filters: 4, Kernel: 3, Padding: graph.Same, Activation: layers.ReLU}),
		layers.MaxPool2D(layers.PoolOptions{Size: 3, Stride: 2, Padding: graph.Same}),
		layers.Conv2D(layers.ConvOptions{Filters: 5, Kernel: 2, Stride: 2, Activation: layers.ReLU}),
		layers.Flatten(),
		layers.Dense(layers.DenseOptions{Units: 3}),
	)(b, x)
}

// TestInterpreterMatchesProgram lowers whole training steps to device plans and runs them with the
// kernels' Go emulations: loss, accuracy, every gradient and the moving-statistics values must match
// the CPU program.
func TestInterpreterMatchesProgram(t *testing.T) {
	for _, tc := range []struct {
		name      string
		model     arch.Model
		params    func(t *testing.T) *graph.Params
		batch     int
		smoothing float64
		kinds     []string // step kinds the program must contain
	}{
		{name: "fcn", model: arch.FashionFCN{}, batch: 16},
		{name: "cnn", model: arch.FashionCNN{}, batch: 4, smoothing: 0.1},
		// Batch 4, not 2: the last stage is 1×1 here, so its BatchNorm layers normalise over N values
		// per channel, and at N = 2 their input gradient is a difference that cancels to ε/(σ²+ε) of its
		// terms, amplifying float32 rounding differences (GEMM summation order) to ~1e-4.
		{name: "resnet34", model: arch.ResNet34(1, 28, 28, 10), batch: 4, smoothing: 0.1,
			kinds: []string{"batchnorm_train", "batchnorm_train_grad", "batchnorm_gamma_grad", "batch_stats", "global_avgpool_grad", "add"}},
		// Fine-tuning under frozen BatchNorm layers: the convolutions train, BatchNorm runs (and is
		// differentiated) in inference mode, fused into the convolutions.
		{name: "resnet-small frozen batchnorm", model: smallResNet, batch: 3,
			params: func(t *testing.T) *graph.Params {
				return prepared(t, smallResNet, func(name string) bool { return strings.Contains(name, "batch_normalization") })
			},
			kinds: []string{"conv2d_batchnorm_relu", "conv2d_batchnorm", "batchnorm_infer_grad"}},
		// A frozen backbone: only the head trains.
		{name: "resnet-small frozen backbone", model: smallResNet, batch: 3,
			params: func(t *testing.T) *graph.Params {
				return prepared(t, smallResNet, func(name string) bool { return !strings.HasPrefix(name, "dense") })
			},
			kinds: []string{"conv2d_batchnorm_relu", "conv2d_batchnorm", "global_avgpool"}},
		// SqueezeNet at its smallest input with the transfer head: fire modules concatenate their expand
		// branches on channels (Concat, and ConcatGrad in the backward pass).
		{name: "squeezenet", model: arch.Classifier{Backbone: arch.SqueezeNet{Height: 48, Width: 48}, NumClasses: 5, Dropout: 0.2}, batch: 2, smoothing: 0.1,
			kinds: []string{"concat", "concat_grad", "dropout"}},
		// The first dense layer's bias is frozen: a training-mode BatchNorm follows it, so its gradient
		// is rounding noise (the normalisation removes the mean) that no two summation orders agree on.
		{name: "bn-infer", model: bnInferNet{}, batch: 4,
			params: func(t *testing.T) *graph.Params {
				return prepared(t, bnInferNet{}, func(name string) bool { return name == "dense/bias" })
			},
			kinds: []string{"batchnorm_infer", "batchnorm_infer_grad", "batchnorm_infer_gamma_grad", "batchnorm_train", "batch_stats"}},
		// Xception at its smallest input: separable convolutions (depthwise 3×3, then pointwise 1×1).
		{name: "xception", model: arch.Classifier{Backbone: arch.Xception{Height: 71, Width: 71}, NumClasses: 5}, batch: 2,
			kinds: []string{"depthwise_conv2d", "depthwise_conv2d_backprop_input", "depthwise_conv2d_backprop_filter"}},
		{name: "oblong", model: oblongNet{}, batch: 3, kinds: []string{"maxpool2d", "maxpool2d_relu_grad"}},
		{name: "depthwise", model: depthwiseNet{}, batch: 3,
			kinds: []string{"depthwise_conv2d", "depthwise_conv2d_backprop_input", "depthwise_conv2d_backprop_filter", "depthwise_maxpool", "depthwise_maxpool_grad", "avgpool2d", "avgpool2d_grad"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			params := graph.NewParams()
			if tc.params != nil {
				params = tc.params(t)
			}
			prog, outs := trainingProgramWith(t, tc.model, params, tc.batch, tc.smoothing)
			kinds := map[string]bool{}
			for _, s := range prog.Steps() {
				if s.Kernel != nil {
					kinds[s.Kernel.Kind()] = true
				}
			}
			for _, k := range tc.kinds {
				if !kinds[k] {
					t.Errorf("the program has no %s step", k)
				}
			}
			plan := mustLower(t, prog)
			interp, err := NewInterpreter(plan)
			if err != nil {
				t.Fatal(err)
			}
			defer interp.Close()
			checkAgainstProgram(t, interp, plan, prog, outs)
			t.Logf("%d steps, %d buffers, %d launches; loss %.5f, correct %v; %v", len(prog.Steps()), len(plan.Buffers), len(plan.Launches),
				outs[0].Float32s()[0], outs[1].Float32s()[0], time.Since(start).Round(time.Millisecond))
		})
	}
}

// relErr is max |a−b| over max |b| (or the absolute error when b is all zero).
func relErr(a, b []float32) float64 {
	var diff, scale float64
	for i := range b {
		diff = max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = max(scale, math.Abs(float64(b[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// checkAgainstProgram runs the CPU program and the plan on x from the same inputs and compares every
// output (loss, correct count, gradients, statistics) to a relative error of 1e-4.
func checkAgainstProgram(t *testing.T, x Executor, plan *Plan, prog *graph.Program, outs []*tensor.Dense) {
	t.Helper()
	for _, in := range plan.Inputs {
		if err := x.Upload(in); err != nil {
			t.Fatal(err)
		}
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	want := make([][]float32, len(outs))
	for i, o := range outs {
		want[i] = append([]float32(nil), o.Float32s()...)
	}
	// Outputs may repeat a tensor (a residual unit's two β gradients are one BiasGrad node), so clear
	// only once every value is saved.
	for _, o := range outs {
		clear(o.Float32s())
	}
	if err := x.Run(); err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		if err := x.Download(o); err != nil {
			t.Fatal(err)
		}
		if rel := relErr(o.Float32s(), want[i]); rel > 1e-4 || math.IsNaN(rel) {
			t.Errorf("output %d %v: relative error %.3g (device plan vs CPU program)", i, o.Shape(), rel)
		}
	}
}

// mustLower lowers a program or fails the test.
func mustLower(t *testing.T, prog *graph.Program) *Plan {
	t.Helper()
	plan, err := Lower(prog)
	if err != nil {
		t.Fatal(err)
	}
	return plan
}
