package training

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fovea/arch"
)

// TestJobResumeCountsEarlierEpochs runs a one-epoch job, then resumes it for a second epoch: the
// resumed run's metrics cover both epochs, its wall time included.
func TestJobResumeCountsEarlierEpochs(t *testing.T) {
	_, _, root := fashionRoot(t)
	recipe := Recipes()["book"]
	recipe.Epochs = 1
	opts := JobOptions{Model: arch.FashionFCN{}, Recipe: recipe, Seed: 1, DataDir: root, OutDir: t.TempDir(),
		Subset: 600, Offline: true, Log: io.Discard}
	first, err := RunFashionJob(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Recipe.Epochs, opts.Resume = 2, true
	began := time.Now()
	second, err := RunFashionJob(context.Background(), opts)
	resumed := time.Since(began).Seconds()
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHistoryJSON(filepath.Join(opts.OutDir, "history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if second.Epochs != 2 || len(h.Epochs) != 2 {
		t.Fatalf("resumed job: %d epochs in metrics, %d in history, want 2", second.Epochs, len(h.Epochs))
	}
	// The resumed process alone took `resumed` seconds; the run's wall time adds the first epoch.
	if second.WallSeconds <= resumed || second.WallSeconds < h.Epochs[0].Seconds+h.Epochs[1].Seconds {
		t.Errorf("resumed job's wall time %.3f s: the resumed process took %.3f s, the epochs %.3f + %.3f s",
			second.WallSeconds, resumed, h.Epochs[0].Seconds, h.Epochs[1].Seconds)
	}
	t.Logf("first run %.2f s, resumed run's total %.2f s", first.WallSeconds, second.WallSeconds)
}

// TestEvaluateFashionJobReproducesTheRun trains a short flip-augmented job, then evaluates the weights
// and the checkpoint it wrote: both give the run's test accuracy and mirror-TTA accuracy exactly, and
// weights of another model or a file that is neither are refused.
func TestEvaluateFashionJobReproducesTheRun(t *testing.T) {
	_, _, root := fashionRoot(t)
	recipe := Recipes()["book"]
	recipe.Epochs, recipe.Flip = 1, true
	opts := JobOptions{Model: arch.FashionFCN{}, Recipe: recipe, Seed: 1, DataDir: root, OutDir: t.TempDir(),
		Subset: 600, Offline: true, Log: io.Discard}
	run, err := RunFashionJob(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	// a flip-trained run measures mirror TTA too: near its plain accuracy, far above chance
	if run.TestAccuracyMirrorTTA < 0.5 || math.Abs(run.TestAccuracyMirrorTTA-run.TestAccuracy) > 0.05 {
		t.Errorf("run: test accuracy %v, with mirror TTA %v", run.TestAccuracy, run.TestAccuracyMirrorTTA)
	}
	for _, file := range []string{"model.safetensors", "checkpoint.safetensors"} {
		e, err := EvaluateFashionJob(context.Background(), opts, filepath.Join(opts.OutDir, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if e.TestAccuracy != run.TestAccuracy || e.TestAccuracyMirrorTTA != run.TestAccuracyMirrorTTA || e.ValAccuracy != run.ValAccuracy {
			t.Errorf("%s: evaluation %+v, the run measured test %v (mirror TTA %v), validation %v", file, e,
				run.TestAccuracy, run.TestAccuracyMirrorTTA, run.ValAccuracy)
		}
		if e.TestImages != 10000 || e.ValImages != 5000 {
			t.Errorf("%s: evaluated %d test and %d validation images", file, e.TestImages, e.ValImages)
		}
	}
	if _, err := os.Stat(filepath.Join(opts.OutDir, "evaluation.json")); err != nil {
		t.Error(err)
	}
	other := opts
	other.Model = arch.FashionCNN{}
	if _, err := EvaluateFashionJob(context.Background(), other, filepath.Join(opts.OutDir, "model.safetensors")); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("weights of another model: error %v, want ErrCheckpoint", err)
	}
	notWeights := filepath.Join(t.TempDir(), "other.safetensors")
	if err := SaveCheckpoint(notWeights, []NamedTensor{{Name: "x", DType: "F32", Shape: []int{1}, Data: []float32{1}}}, map[string]string{"format": "something.else"}); err != nil {
		t.Fatal(err)
	}
	if _, err := EvaluateFashionJob(context.Background(), opts, notWeights); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("a file that holds no weights: error %v, want ErrCheckpoint", err)
	}
}

// TestJobRefusesMomentumWithoutSGD: a recipe giving momentum to an optimizer that has none fails before
// any data is read (there is none under DataDir).
func TestJobRefusesMomentumWithoutSGD(t *testing.T) {
	for _, tc := range []struct {
		optimizer string
		momentum  float64
		nesterov  bool
	}{{"nadam", 0.9, false}, {"adam", 0, true}} {
		r := Recipes()["book"]
		r.Optimizer, r.Momentum, r.Nesterov = tc.optimizer, tc.momentum, tc.nesterov
		_, err := RunFashionJob(context.Background(), JobOptions{Model: arch.FashionFCN{}, Recipe: r, DataDir: t.TempDir(), OutDir: t.TempDir(), Offline: true})
		if err == nil || !strings.Contains(err.Error(), "sgd") {
			t.Errorf("%s with momentum %g, Nesterov %t: error %v, want one naming sgd", tc.optimizer, tc.momentum, tc.nesterov, err)
		}
	}
}

// TestFashionJobResizesToTheModel: a model built for 36×36 inputs trains on Fashion-MNIST resized to
// that size, metrics.json, the weights and the checkpoint record the input, and its weights are refused
// by the same network built for 28×28 inputs (a residual network's parameters do not depend on the input size).
func TestFashionJobResizesToTheModel(t *testing.T) {
	_, _, root := fashionRoot(t)
	recipe := Recipes()["better"]
	recipe.Epochs = 1
	net := func(side int) arch.ResNet {
		return arch.ResNet{Label: "resnet-small", Stages: []int{1}, Channels: 1, Height: side, Width: side, NumClasses: 10}
	}
	opts := JobOptions{Model: net(36), Recipe: recipe, Seed: 1, DataDir: root, OutDir: t.TempDir(),
		Subset: 256, Offline: true, Log: io.Discard}
	run, err := RunFashionJob(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	// (After 4 steps BatchNorm's moving statistics are still near their start, so the test accuracy says
	// little; a wrongly sized batch would have failed the run.)
	if run.Input != [3]int{1, 36, 36} || run.TrainImages != 256 || math.IsNaN(run.TestLoss) || math.IsInf(run.TestLoss, 0) {
		t.Errorf("input %v, %d training images, test loss %v; want 1×36×36, 256 and a finite loss", run.Input, run.TrainImages, run.TestLoss)
	}
	small := opts
	small.Model = net(28)
	for _, file := range []string{"model.safetensors", "checkpoint.safetensors"} {
		// the file says which network it belongs to, so a script can build that one
		if c, h, w, err := RecordedInput(filepath.Join(opts.OutDir, file)); err != nil || [3]int{c, h, w} != [3]int{1, 36, 36} {
			t.Errorf("%s records input %d×%d×%d (error %v), want 1×36×36", file, c, h, w, err)
		}
		_, err := EvaluateFashionJob(context.Background(), small, filepath.Join(opts.OutDir, file))
		if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), "1x36x36") {
			t.Errorf("%s of the 36×36 network in the 28×28 one: error %v, want ErrCheckpoint naming 1x36x36", file, err)
		}
	}
	small.Resume = true
	small.OutDir = opts.OutDir
	if _, err := RunFashionJob(context.Background(), small); !errors.Is(err, ErrCheckpoint) {
		t.Errorf("resuming the 36×36 run at 28×28: error %v, want ErrCheckpoint", err)
	}
}
