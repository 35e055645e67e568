package training

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"fovea/arch"
	"fovea/cuda"
	"fovea/data"
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
		optimizer string
		n         int
	}{
		{arch.FashionFCN{}, "nadam", 200},
		{arch.FashionCNN{}, "adam", 40},
		{arch.ResNet{Label: "resnet-small", Stages: []int{1, 1}, Channels: 1, Height: 28, Width: 28, NumClasses: 10}, "adam", 40},
	} {
		t.Run(tc.model.Name(), func(t *testing.T) {
			train, val := syntheticImages(tc.n, 1), syntheticImages(24, 2)
			results := map[string]*Trainer{}
			for _, device := range []string{"cpu", "emulate"} {
				tr, err := NewTrainer(tc.model, nil, Config{
					Epochs: 2, BatchSize: 16, EvalBatchSize: 16, Optimizer: OptimizerConfig{Name: tc.optimizer}, Seed: 3,
					Norm: data.FitStandardizer(train), Device: device, LabelSmoothing: 0.1,
					CheckpointPath: filepath.Join(t.TempDir(), "checkpoint.safetensors"),
				})
				if err != nil {
					t.Fatal(err)
				}
				defer tr.Close()
				if _, err := tr.Fit(train, val); err != nil {
					t.Fatalf("%s: %v", device, err)
				}
				results[device] = tr
			}
			cpu, dev := results["cpu"], results["emulate"]
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
				if rel := relDiff(q.Value.Float32s(), p.Value.Float32s()); rel > 1e-4 {
					t.Errorf("parameter %s: relative difference %.3g between device and CPU training", p.Name, rel)
				}
			}
			t.Logf("epoch 2: device loss %.5f, CPU loss %.5f", dev.History().Epochs[1].TrainLoss, cpu.History().Epochs[1].TrainLoss)
		})
	}
}

func relDiff(a, b []float32) float64 {
	var diff, scale float64
	for i := range b {
		diff = math.Max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = math.Max(scale, math.Abs(float64(b[i])))
	}
	return diff / math.Max(scale, 1e-30)
}

// TestDeviceErrors: without the gpu build tag the cuda device says how to get it; optimizers the
// device path does not handle yet are refused up front, and BatchNorm models are not.
func TestDeviceErrors(t *testing.T) {
	if !cuda.Available {
		_, err := NewTrainer(arch.FashionFCN{}, nil, Config{Device: "cuda"})
		if !errors.Is(err, cuda.ErrNoCUDA) {
			t.Errorf("cuda device in a build without the gpu tag: %v, want ErrNoCUDA", err)
		}
	}
	if _, err := NewTrainer(arch.FashionFCN{}, nil, Config{Device: "emulate", Optimizer: OptimizerConfig{Name: "sgd"}}); err == nil {
		t.Error("SGD on a device: no error")
	}
	if tr, err := NewTrainer(arch.ResNet34(1, 28, 28, 10), nil, Config{Device: "emulate", BatchSize: 2}); err != nil {
		t.Errorf("BatchNorm training on a device: %v", err)
	} else {
		tr.Close()
	}
	if _, err := NewTrainer(arch.FashionFCN{}, nil, Config{Device: "tpu"}); err == nil {
		t.Error("unknown device: no error")
	}
}
