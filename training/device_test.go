package training

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/arch"
	"fovea/cuda"
	"fovea/data"
	"fovea/graph"
)

// syntheticImages is a small random 28×28 dataset whose labels depend on the pixels, so training has
// something to learn.
func syntheticImages(n int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	d := &data.Dataset{Pixels: make([]uint8, n*784), Labels: make([]int32, n), N: n, C: 1, H: 28, W: 28, Classes: 10}
	for i := 0; i < n; i++ {
		label := rng.IntN(10)
		d.Labels[i] = int32(label)
		for j := 0; j < 784; j++ {
			v := rng.IntN(128)
			if j/78 == label {
				v += 100
			}
			d.Pixels[i*784+j] = uint8(v)
		}
	}
	return d
}

// TestDeviceTrainingMatchesCPU runs whole training runs through the device path (plans executed by the
// CPU interpreter, the same plans a GPU runs) and on the CPU: the histories, the evaluation and the
// final parameters (BatchNorm's moving statistics included) must agree. The runs end on a partial batch
// and evaluate after every epoch, so the parameters move between device programs and back to the host
// for the checkpoint; the residual network trains BatchNorm with batch statistics and evaluates with
// its moving statistics, fused into the convolutions.
func TestDeviceTrainingMatchesCPU(t *testing.T) {
	for _, tc := range []struct {
		model     arch.Model
		optimizer OptimizerConfig
		schedule  Schedule
		n         int
		// paramTol bounds the parameters' relative difference (default 1e-4). The CPU computes a
		// stride-1 convolution's input gradient as a convolution with the flipped kernel, the device
		// as GEMM and col2im: the same sums in other float32 orders. This CNN barely moves from its
		// start in six steps (loss ≈ ln 10), so its gradients are mostly cancellation, where such
		// rounding differences are large relative to the update.
		paramTol float64
	}{
		{model: arch.FashionFCN{}, optimizer: OptimizerConfig{Name: "nadam"}, n: 200},
		{model: arch.FashionCNN{}, optimizer: OptimizerConfig{Name: "adam"}, n: 40, paramTol: 1e-2},
		{model: arch.ResNet{Label: "resnet-small", Stages: []int{1, 1}, Channels: 1, Height: 28, Width: 28, NumClasses: 10}, optimizer: OptimizerConfig{Name: "adam"}, n: 40},
		// SGD with Nesterov momentum and Keras' legacy per-step decay, on a network with BatchNorm.
		{model: arch.ResNet{Label: "resnet-small", Stages: []int{1, 1}, Channels: 1, Height: 28, Width: 28, NumClasses: 10},
			optimizer: OptimizerConfig{Name: "sgd", Momentum: 0.9, Nesterov: true}, schedule: InverseTimeDecay{LR: 0.01, Decay: 0.01}, n: 40},
		{model: arch.FashionFCN{}, optimizer: OptimizerConfig{Name: "sgd"}, schedule: Constant{LR: 0.05}, n: 64},
		// decoupled weight decay (scale launches after the updates), strong enough that leaving it out
		// moves the kernels far beyond the tolerance
		{model: arch.FashionFCN{}, optimizer: OptimizerConfig{Name: "sgd", WeightDecay: 0.5}, schedule: Constant{LR: 0.05}, n: 64},
		{model: arch.ResNet{Label: "resnet-small", Stages: []int{1, 1}, Channels: 1, Height: 28, Width: 28, NumClasses: 10},
			optimizer: OptimizerConfig{Name: "nadam", WeightDecay: 0.9}, n: 40},
	} {
		name := tc.model.Name() + "/" + tc.optimizer.Name
		if tc.optimizer.WeightDecay != 0 {
			name += "+decay"
		}
		t.Run(name, func(t *testing.T) {
			train, val := syntheticImages(tc.n, 1), syntheticImages(24, 2)
			tol := tc.paramTol
			if tol == 0 {
				tol = 1e-4
			}
			cpu, dev := fitOnCPUAndDevice(t, tc.model, nil, tol, Config{
				Epochs: 2, BatchSize: 16, EvalBatchSize: 16, Optimizer: tc.optimizer, Schedule: tc.schedule, Seed: 3,
				Norm: data.FitStandardizer(train), LabelSmoothing: 0.1,
				CheckpointPath: filepath.Join(t.TempDir(), "checkpoint.safetensors"),
			}, train, val)
			t.Logf("epoch 2: device loss %.5f, CPU loss %.5f", dev.History().Epochs[1].TrainLoss, cpu.History().Epochs[1].TrainLoss)
		})
	}
}

// emulatedDevice runs the device tests' plans on the CPU: "emulate" (the kernels' Go emulations) or,
// in builds with the hostcuda tag, "hostcuda" (fovea.cu's kernels compiled for the host).
var emulatedDevice = "emulate"

func relDiff(a, b []float32) float64 {
	var diff, scale float64
	for i := range b {
		diff = math.Max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = math.Max(scale, math.Abs(float64(b[i])))
	}
	return diff / math.Max(scale, 1e-30)
}

// TestDeviceErrors: without the gpu build tag the cuda device says how to get it; every optimizer
// (SGD included) and BatchNorm models are accepted by the device path.
func TestDeviceErrors(t *testing.T) {
	if !cuda.Available {
		_, err := NewTrainer(arch.FashionFCN{}, nil, Config{Device: "cuda"})
		if !errors.Is(err, cuda.ErrNoCUDA) {
			t.Errorf("cuda device in a build without the gpu tag: %v, want ErrNoCUDA", err)
		}
	}
	if tr, err := NewTrainer(arch.FashionFCN{}, nil, Config{Device: "emulate", Optimizer: OptimizerConfig{Name: "sgd", Momentum: 0.9}}); err != nil {
		t.Errorf("SGD on a device: %v", err)
	} else {
		tr.Close()
	}
	if tr, err := NewTrainer(arch.ResNet34(1, 28, 28, 10), nil, Config{Device: "emulate", BatchSize: 2}); err != nil {
		t.Errorf("BatchNorm training on a device: %v", err)
	} else {
		tr.Close()
	}
	if _, err := NewTrainer(arch.FashionFCN{}, nil, Config{Device: "tpu"}); err == nil {
		t.Error("unknown device: no error")
	}
	if _, err := NewTrainer(arch.FashionFCN{}, nil, Config{TF32: true}); err == nil || !strings.Contains(err.Error(), "TF32") {
		t.Errorf("TF32 on the cpu device: %v, want an error naming TF32", err)
	}
	if _, err := NewTrainer(arch.FashionFCN{}, nil, Config{CUDAGraphs: true}); err == nil || !strings.Contains(err.Error(), "CUDA graphs") {
		t.Errorf("CUDA graphs on the cpu device: %v, want an error naming CUDA graphs", err)
	}
	// TF32 and CUDA graphs reach the device plan (the interpreter ignores both).
	tr, err := NewTrainer(arch.FashionFCN{}, nil, Config{Device: "emulate", TF32: true, CUDAGraphs: true, BatchSize: 4})
	if err != nil {
		t.Fatalf("TF32 and CUDA graphs on the emulated device: %v", err)
	}
	defer tr.Close()
	if _, _, err := tr.TrainOnBatch(make([]float32, 4*784), make([]int32, 4), 1e-3); err != nil {
		t.Fatal(err)
	}
	for _, r := range tr.device.runs {
		if !r.plan.TF32 || !r.plan.Graphs {
			t.Errorf("a device plan of a trainer with TF32 and CUDA graphs has TF32 %v, graphs %v", r.plan.TF32, r.plan.Graphs)
		}
	}
}

// frozenBackbone builds m's parameters (seeded, so every call gives the same values) and freezes all
// but the transfer head's, as transfer.FreezeAllBut(params, "head/") does.
func frozenBackbone(t *testing.T, m arch.Model) *graph.Params {
	t.Helper()
	params := graph.NewParams()
	b, err := graph.NewBuilder(G.NewGraph(), params, graph.BuildOptions{Training: true, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	c, h, w := m.InputShape()
	if _, err := m.Build(b, G.NewTensor(b.Graph(), tensor.Float32, 4, G.WithShape(1, c, h, w), G.WithName("images"))); err != nil {
		t.Fatal(err)
	}
	for _, p := range params.All() {
		if !strings.HasPrefix(p.Name, "head/") {
			p.Trainable = false
		}
	}
	return params
}

// randomImages is a small random dataset of c×h×w images whose labels depend on the pixels.
func randomImages(n, c, h, w, classes int, seed uint64) *data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	size := c * h * w
	d := &data.Dataset{Pixels: make([]uint8, n*size), Labels: make([]int32, n), N: n, C: c, H: h, W: w, Classes: classes}
	for i := range n {
		label := rng.IntN(classes)
		d.Labels[i] = int32(label)
		for j := range size {
			v := rng.IntN(128)
			if j*classes/size == label {
				v += 100
			}
			d.Pixels[i*size+j] = uint8(v)
		}
	}
	return d
}

// TestDeviceTransferMatchesCPU fine-tunes the transfer head on a frozen SqueezeNet backbone (fire
// modules concatenate channels) with SGD through the device path and on the CPU: the histories and the
// head's parameters must agree, and the frozen backbone must not move.
func TestDeviceTransferMatchesCPU(t *testing.T) {
	model := arch.Classifier{Backbone: arch.SqueezeNet{Height: 48, Width: 48}, NumClasses: 3, Dropout: 0.2}
	train, val := randomImages(20, 3, 48, 48, 3, 1), randomImages(8, 3, 48, 48, 3, 2)
	cpu, dev := fitOnCPUAndDevice(t, model, func() *graph.Params { return frozenBackbone(t, model) }, 1e-4, Config{
		Epochs: 2, BatchSize: 8, EvalBatchSize: 8, Optimizer: OptimizerConfig{Name: "sgd", Momentum: 0.9, Nesterov: true},
		Schedule: Constant{LR: 0.01}, Seed: 3, Norm: data.FitStandardizer(train),
	}, train, val)
	start := frozenBackbone(t, model)
	for _, p := range cpu.Params().All() {
		q, _ := dev.Params().Get(p.Name)
		if s, _ := start.Get(p.Name); !p.Trainable && relDiff(q.Value.Float32s(), s.Value.Float32s()) != 0 {
			t.Errorf("frozen parameter %s moved on the device", p.Name)
		}
	}
}

// fitOnCPUAndDevice trains the same model twice from the same start, on the CPU and through the device
// path run by the plan interpreter (emulatedDevice), and checks that the histories (losses and accuracies)
// agree to 1e-4 and every parameter to paramTol (relative to the tensor's largest value). params, when
// set, gives each run its starting parameter set.
func fitOnCPUAndDevice(t *testing.T, model arch.Model, params func() *graph.Params, paramTol float64, cfg Config, train, val *data.Dataset) (cpu, dev *Trainer) {
	t.Helper()
	results := map[string]*Trainer{}
	for _, device := range []string{"cpu", emulatedDevice} {
		c := cfg
		c.Device = device
		var ps *graph.Params
		if params != nil {
			ps = params()
		}
		tr, err := NewTrainer(model, ps, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tr.Close)
		if _, err := tr.Fit(train, val); err != nil {
			t.Fatalf("%s: %v", device, err)
		}
		results[device] = tr
	}
	cpu, dev = results["cpu"], results[emulatedDevice]
	for i, want := range cpu.History().Epochs {
		got := dev.History().Epochs[i]
		for _, pair := range [][2]float64{{got.TrainLoss, want.TrainLoss}, {got.ValLoss, want.ValLoss}, {got.TrainAccuracy, want.TrainAccuracy}, {got.ValAccuracy, want.ValAccuracy}} {
			if math.Abs(pair[0]-pair[1]) > 1e-4*math.Max(1, math.Abs(pair[1])) {
				t.Errorf("epoch %d: device %+v, CPU %+v", i+1, got, want)
				break
			}
		}
	}
	for _, p := range cpu.Params().All() {
		q, ok := dev.Params().Get(p.Name)
		if !ok {
			t.Fatalf("device trainer has no parameter %s", p.Name)
		}
		if rel := relDiff(q.Value.Float32s(), p.Value.Float32s()); rel > paramTol {
			t.Errorf("parameter %s: relative difference %.3g between device and CPU training", p.Name, rel)
		}
	}
	// Predict's probabilities come down from the device's evaluation program.
	if val != nil && val.N > 0 {
		want, _, err := cpu.Predict(val)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := dev.Predict(val)
		if err != nil {
			t.Fatalf("%s: predict: %v", emulatedDevice, err)
		}
		if rel := relDiff(got, want); rel > 1e-4 {
			t.Errorf("predictions: relative difference %.3g between device and CPU", rel)
		}
	}
	t.Logf("last epoch: device loss %.5f, CPU loss %.5f", dev.History().Epochs[len(dev.History().Epochs)-1].TrainLoss, cpu.History().Epochs[len(cpu.History().Epochs)-1].TrainLoss)
	return cpu, dev
}

// TestDeviceLoadWeights: weights loaded into a trainer whose newest parameters live on the device
// replace them there too, so its predictions are those of the loaded weights.
func TestDeviceLoadWeights(t *testing.T) {
	// whole evaluation batches only: one device program stays resident from Predict to Predict
	train, val := syntheticImages(64, 1), syntheticImages(32, 2)
	cfg := Config{Epochs: 1, BatchSize: 16, EvalBatchSize: 16, Seed: 3, Norm: data.FitStandardizer(train)}
	fresh, err := NewTrainer(arch.FashionFCN{}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	weights := filepath.Join(t.TempDir(), "model.safetensors")
	if err := fresh.SaveWeights(weights); err != nil {
		t.Fatal(err)
	}
	want, _, err := fresh.Predict(val)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Device, cfg.Seed = emulatedDevice, 4
	dev, err := NewTrainer(arch.FashionFCN{}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if _, err := dev.Fit(train, val); err != nil {
		t.Fatal(err)
	}
	trained, _, err := dev.Predict(val)
	if err != nil {
		t.Fatal(err)
	}
	if rel := relDiff(trained, want); rel < 1e-2 {
		t.Fatalf("the trained device model predicts as the fresh one (relative difference %.3g): the check would prove nothing", rel)
	}
	if err := dev.LoadWeights(weights); err != nil {
		t.Fatal(err)
	}
	got, _, err := dev.Predict(val)
	if err != nil {
		t.Fatal(err)
	}
	if rel := relDiff(got, want); rel > 1e-5 {
		t.Errorf("after LoadWeights the device predicts %.3g (relative) away from the loaded weights' predictions", rel)
	}
}
