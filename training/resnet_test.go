package training

import (
	"testing"

	"fovea/arch"
	"fovea/data"
)

// TestSmallResNetLearns trains a two-stage ResNet (BatchNorm, residual units, a projection shortcut)
// for a few steps on real images: the loss must fall, BatchNorm's moving statistics must move, and the
// evaluation form (moving statistics) must run.
func TestSmallResNetLearns(t *testing.T) {
	train, test := fashion(t)
	train, test = train.Subset(640), test.Subset(256)
	model := arch.ResNet{Label: "resnet-small", Stages: []int{1, 1}, Channels: 1, Height: 28, Width: 28, NumClasses: 10}
	tr, err := NewTrainer(model, nil, Config{Epochs: 2, BatchSize: 32, Optimizer: OptimizerConfig{Name: "nadam"}, Seed: 5, Norm: data.FitStandardizer(train)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	hist, err := tr.Fit(train, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, last := hist.Epochs[0].TrainLoss, hist.Epochs[1].TrainLoss
	t.Logf("epoch losses %.4f → %.4f", first, last)
	if !(last < 0.8*first) {
		t.Fatalf("loss went from %.4f to %.4f; want a clear fall", first, last)
	}
	mean, ok := tr.Params().Get("batch_normalization/moving_mean")
	if !ok {
		t.Fatal("no batch_normalization/moving_mean parameter")
	}
	moved := false
	for _, v := range mean.Value.Float32s() {
		moved = moved || v != 0
	}
	if !moved {
		t.Fatal("moving mean never moved from its initial zeros")
	}
	if mean.Trainable {
		t.Fatal("moving mean is trainable")
	}
	loss, acc, err := tr.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("evaluation with moving statistics: loss %.4f accuracy %.4f", loss, acc)
}
