package training

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"fovea/arch"
	"fovea/data"
)

// fashion loads Fashion-MNIST from $FOVEA_DATA or skips the test.
func fashion(t *testing.T) (train, test *data.Dataset) {
	t.Helper()
	train, test, _ = fashionRoot(t)
	return train, test
}

// fashionRoot loads Fashion-MNIST from $FOVEA_DATA, returning the data root too, or skips the test.
func fashionRoot(t *testing.T) (train, test *data.Dataset, root string) {
	t.Helper()
	root = os.Getenv(data.EnvRoot)
	if root == "" {
		t.Skip("FOVEA_DATA is not set: this test needs the real Fashion-MNIST files (e.g. FOVEA_DATA=$PWD/../shared/data)")
	}
	train, test, err := data.LoadFashionMNIST(root)
	if errors.Is(err, data.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		t.Skipf("Fashion-MNIST not found under %s: %v", root, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return train, test, root
}

// TestFCNLearnsFashionMNIST trains the fully connected net for one epoch on 10,000 real images; it must
// reach at least 80% on the full test set.
func TestFCNLearnsFashionMNIST(t *testing.T) {
	train, test := fashion(t)
	train = train.Subset(10000)
	var log bytes.Buffer
	tr, err := NewTrainer(arch.FashionFCN{}, nil, Config{
		Epochs: 1, BatchSize: 32, Optimizer: OptimizerConfig{Name: "nadam"}, Seed: 1,
		Norm: data.FitStandardizer(train), Log: &log,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	hist, err := tr.Fit(train, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, acc, err := tr.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s-> test accuracy %.4f", log.String(), acc)
	if acc < 0.80 {
		t.Fatalf("test accuracy %.4f after one epoch on 10,000 images, want >= 0.80", acc)
	}
	if n := len(hist.Epochs); n != 1 || !(hist.Epochs[0].TrainLoss > 0) {
		t.Fatalf("history %+v", hist.Epochs)
	}
}

// TestCNNLossFalls runs a few CNN steps on real images: the training loss of the last steps must be
// well below the first.
func TestCNNLossFalls(t *testing.T) {
	train, _ := fashion(t)
	train = train.Subset(1024)
	tr, err := NewTrainer(arch.FashionCNN{}, nil, Config{
		Epochs: 2, BatchSize: 32, Optimizer: OptimizerConfig{Name: "nadam"}, Seed: 3, Norm: data.FitStandardizer(train),
	})
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
	if !(last < 0.9*first) {
		t.Fatalf("loss went from %.4f to %.4f; want a clear fall", first, last)
	}
}

// TestResumeContinuesTheSameRun interrupts a run after one epoch, resumes it from the checkpoint in a
// new trainer, and compares with an uninterrupted run: the weights must be bit-for-bit the same.
func TestResumeContinuesTheSameRun(t *testing.T) {
	train, _ := fashion(t)
	train = train.Subset(1000)
	dir := t.TempDir()
	cfg := func(epochs int, ckpt string) Config {
		return Config{Epochs: epochs, BatchSize: 50, Optimizer: OptimizerConfig{Name: "nadam"}, Seed: 9,
			Schedule: Cosine{LR: 1e-3}, Augment: &data.Augment{MaxShift: 1, FlipHorizontal: true},
			Norm: data.FitStandardizer(train), CheckpointPath: ckpt}
	}
	model := arch.FashionCNN{}
	straight, err := NewTrainer(model, nil, cfg(2, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer straight.Close()
	if _, err := straight.Fit(train, nil); err != nil {
		t.Fatal(err)
	}

	// The same two-epoch run, killed after its first epoch.
	ckpt := filepath.Join(dir, "ckpt.safetensors")
	errKilled := errors.New("killed")
	killed := cfg(2, ckpt)
	killed.OnEpochEnd = func(h *History) error { return errKilled }
	first, err := NewTrainer(model, nil, killed)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := first.Fit(train, nil); !errors.Is(err, errKilled) {
		t.Fatalf("first run: %v", err)
	}
	resumed, err := NewTrainer(model, nil, cfg(2, ckpt))
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if err := resumed.Resume(ckpt); err != nil {
		t.Fatal(err)
	}
	if resumed.Epoch() != 1 {
		t.Fatalf("resumed at epoch %d, want 1", resumed.Epoch())
	}
	hist, err := resumed.Fit(train, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Epochs) != 2 {
		t.Fatalf("history has %d epochs, want 2", len(hist.Epochs))
	}
	for _, p := range straight.Params().All() {
		q, _ := resumed.Params().Get(p.Name)
		if !slices.Equal(p.Value.Float32s(), q.Value.Float32s()) {
			t.Fatalf("parameter %s differs between the straight and the resumed run", p.Name)
		}
	}
	// A checkpoint of another seed is refused.
	other, err := NewTrainer(model, nil, Config{Seed: 10, Norm: data.FitStandardizer(train)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Resume(ckpt); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("resume with another seed: %v, want ErrCheckpoint", err)
	}
}

// TestDivergenceStops checks that a run whose loss becomes NaN stops with ErrDiverged.
func TestDivergenceStops(t *testing.T) {
	train, _ := fashion(t)
	train = train.Subset(512)
	tr, err := NewTrainer(arch.FashionFCN{}, nil, Config{
		Epochs: 3, BatchSize: 64, Optimizer: OptimizerConfig{Name: "sgd"}, Schedule: Constant{LR: 1e6},
		Norm: data.FitStandardizer(train),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	_, err = tr.Fit(train, nil)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("error %v, want ErrDiverged", err)
	}
	t.Log(err)
}

func TestSchedules(t *testing.T) {
	c := Cosine{LR: 1, Warmup: 10}
	cases := []struct {
		s    Schedule
		step int64
		want float64
	}{
		{Constant{LR: 0.1}, 500, 0.1},
		{c, 0, 0.1},
		{c, 9, 1},
		{c, 10, 1},
		{c, 55, 0.5},
		{c, 100, 0},
		{InverseTimeDecay{LR: 0.01, Decay: 1e-4}, 10000, 0.005},
	}
	for _, tc := range cases {
		if got := tc.s.LearningRate(tc.step, 100); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%v at step %d = %g, want %g", tc.s, tc.step, got, tc.want)
		}
	}
}
