package training

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"fovea/arch"
	"fovea/data"
	"fovea/graph"
)

// BenchmarkTrainStep times one training step (forward, backward, optimizer update) on random data, as
// PyTorch's side of the comparison does (scripts/torchref/fashion.py bench). Compare images/s.
func BenchmarkTrainStep(b *testing.B) {
	for _, bc := range []struct {
		name    string
		model   arch.Model
		batches []int
	}{
		{"fashion-cnn", arch.FashionCNN{}, []int{32, 128}},
		{"fashion-fcn", arch.FashionFCN{}, []int{32, 128}},
		{"resnet34", arch.ResNet34(1, 28, 28, 10), []int{32, 128}},
		// ResNet-34 as `scripts/resnet34 -input-size 56` trains it (the better recipe's batch of 64).
		{"resnet34-56x56", arch.ResNet34(1, 56, 56, 10), []int{64}},
		{"squeezenet", arch.Classifier{Backbone: arch.SqueezeNet{Height: 224, Width: 224}, NumClasses: 5}, []int{32, 128}},
	} {
		m := bc.model
		for _, batch := range bc.batches {
			b.Run(fmt.Sprintf("%s/batch=%d", bc.name, batch), func(b *testing.B) {
				t, err := NewTrainer(m, nil, Config{BatchSize: batch, Optimizer: OptimizerConfig{Name: "nadam"}, Norm: &data.Standardizer{}})
				if err != nil {
					b.Fatal(err)
				}
				defer t.Close()
				p, err := t.program(batch, true)
				if err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(1, 2))
				for i := range p.x {
					p.x[i] = float32(rng.NormFloat64())
				}
				for i := range p.y {
					p.y[i] = int32(rng.IntN(m.Classes()))
				}
				step := func() {
					if _, _, err := t.step1(p, 1e-3); err != nil {
						b.Fatal(err)
					}
				}
				step()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					step()
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
			})
		}
	}
}

// TestTrainStepAllocatesNothing checks that a CNN training step (forward, backward, optimizer update)
// allocates nothing once the program's buffers exist.
func TestTrainStepAllocatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	tr, err := NewTrainer(arch.FashionCNN{}, nil, Config{BatchSize: 8, Optimizer: OptimizerConfig{Name: "nadam"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	p, err := tr.program(8, true)
	if err != nil {
		t.Fatal(err)
	}
	step := func() {
		if _, _, err := tr.step1(p, 1e-3); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		step()
	}
	if n := testing.AllocsPerRun(5, step); n != 0 {
		t.Fatalf("a training step allocates %v times", n)
	}
}

// BenchmarkXceptionForward times the frozen-backbone step of transfer learning (Xception at 224×224,
// batch 8: forward through the backbone, head trained), the cost of a frozen epoch.
func BenchmarkXceptionForward(b *testing.B) { benchXception(b, 8, true) }

// BenchmarkXceptionFinetune times a fine-tuning step (every parameter trained, batch 32, SGD), the cost
// of a fine-tuning epoch.
func BenchmarkXceptionFinetune(b *testing.B) { benchXception(b, 32, false) }

func benchXception(b *testing.B, batch int, frozen bool) {
	params := graph.NewParams()
	model := arch.Classifier{Backbone: arch.Xception{Height: 224, Width: 224}, NumClasses: 5}
	probe, err := NewTrainer(model, params, Config{BatchSize: 1, Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	probe.Close()
	for _, p := range params.All() {
		if frozen && !strings.HasPrefix(p.Name, "head/") {
			p.Trainable = false
		}
	}
	t, err := NewTrainer(model, params, Config{BatchSize: batch, Optimizer: OptimizerConfig{Name: "sgd", Momentum: 0.9, Nesterov: true}})
	if err != nil {
		b.Fatal(err)
	}
	defer t.Close()
	p, err := t.program(batch, true)
	if err != nil {
		b.Fatal(err)
	}
	for i := range p.y {
		p.y[i] = int32(i % 5)
	}
	if _, _, err := t.step1(p, 1e-3); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := t.step1(p, 1e-3); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
}
