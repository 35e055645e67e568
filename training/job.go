package training

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"fovea/arch"
	"fovea/data"
	"fovea/graph"
)

// Recipe is a named set of training hyperparameters for the Fashion-MNIST models.
type Recipe struct {
	Name           string  `json:"name"`
	Epochs         int     `json:"epochs"`
	BatchSize      int     `json:"batch_size"`
	Optimizer      string  `json:"optimizer"`
	LR             float64 `json:"lr"`
	Schedule       string  `json:"schedule"` // constant or cosine
	WarmupEpochs   float64 `json:"warmup_epochs"`
	LabelSmoothing float64 `json:"label_smoothing"`
	MaxShift       int     `json:"max_shift"`
	Flip           bool    `json:"flip"`
	KernelInit     string  `json:"kernel_init"`
	WeightDecay    float64 `json:"weight_decay,omitempty"`
	EraseProb      float64 `json:"erase_prob,omitempty"`
	// Momentum and Nesterov configure the sgd optimizer (Keras' SGD: momentum 0 unless given).
	Momentum float64 `json:"momentum,omitempty"`
	Nesterov bool    `json:"nesterov,omitempty"`
}

// Recipes are the Fashion-MNIST recipes the scripts offer.
//
// "book" is Géron's: Nadam at Keras' defaults, batch 32, 10 epochs, Glorot-uniform kernels.
// "better" keeps the model, data and 10 epochs and changes the training only: batch 64, the learning
// rate decayed to zero along a cosine, and label smoothing 0.1 (see docs/results.md for what each bought).
func Recipes() map[string]Recipe {
	book := Recipe{Name: "book", Epochs: 10, BatchSize: 32, Optimizer: "nadam", LR: 1e-3, Schedule: "constant", KernelInit: "glorot_uniform"}
	better := book
	better.Name, better.BatchSize, better.Schedule, better.LabelSmoothing = "better", 64, "cosine", 0.1
	return map[string]Recipe{"book": book, "better": better}
}

// JobOptions describes one training job of a Fashion-MNIST script.
type JobOptions struct {
	Model   arch.Model
	Recipe  Recipe
	Seed    uint64
	DataDir string // "" resolves through $FOVEA_DATA, then the user cache
	OutDir  string
	// Subset trains on the first Subset training images only (0: all 55,000).
	Subset  int
	Threads int
	// Device is Config.Device: cpu (default), cuda or emulate.
	Device string
	// TF32 is Config.TF32: the GPU's GEMMs on TF32 tensor cores.
	TF32 bool
	// CUDAGraphs is Config.CUDAGraphs: each GPU step replayed as one CUDA graph.
	CUDAGraphs bool
	// Resume continues from OutDir/checkpoint.safetensors when it exists.
	Resume bool
	// Offline forbids downloading missing data.
	Offline bool
	Log     io.Writer
	// Command is the command line, recorded in metrics.json.
	Command string
}

// Metrics is what a job writes to metrics.json.
type Metrics struct {
	Model string `json:"model"`
	// Input is the model's input shape (channels, height, width); other than 1×28×28, the images were
	// resized to it.
	Input        [3]int  `json:"input"`
	Recipe       Recipe  `json:"recipe"`
	Seed         uint64  `json:"seed"`
	TestAccuracy float64 `json:"test_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	// TestAccuracyMirrorTTA is the test accuracy with horizontal-flip test-time augmentation (each
	// prediction the mean of the image's and its mirror image's), measured for recipes that train with
	// flips; 0 otherwise.
	TestAccuracyMirrorTTA float64 `json:"test_accuracy_mirror_tta,omitempty"`
	ValAccuracy           float64 `json:"val_accuracy"`
	Epochs                int     `json:"epochs"`
	TrainImages           int     `json:"train_images"`
	ValImages             int     `json:"val_images"`
	TestImages            int     `json:"test_images"`
	Params                int     `json:"params"`
	// WallSeconds is the whole run's time: this process's, plus the epochs a resumed run did before.
	WallSeconds    float64 `json:"wall_seconds"`
	TrainImagesSec float64 `json:"train_images_per_sec"`
	Device         string  `json:"device"`
	TF32           bool    `json:"tf32,omitempty"`
	CUDAGraphs     bool    `json:"cuda_graphs,omitempty"`
	Machine        string  `json:"machine"`
	GoVersion      string  `json:"go_version"`
	Date           string  `json:"date"`
	Command        string  `json:"command"`
}

// RunFashionJob trains opts.Model on Fashion-MNIST with the book's split (the last 5,000 training images
// validate) and per-pixel standardisation, evaluates it on the test set, and writes into OutDir:
// history.json, history.csv, accuracy.png, loss.png, checkpoint.safetensors (after every epoch),
// model.safetensors and metrics.json.
func RunFashionJob(ctx context.Context, opts JobOptions) (*Metrics, error) {
	start := time.Now()
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	r := opts.Recipe
	optimizer := OptimizerConfig{Name: r.Optimizer, Momentum: r.Momentum, Nesterov: r.Nesterov, WeightDecay: r.WeightDecay}
	// A recipe the optimizer refuses fails before any data is read.
	if _, err := NewOptimizer(optimizer); err != nil {
		return nil, err
	}
	train, val, test, err := loadFashionSplits(ctx, opts, log)
	if err != nil {
		return nil, err
	}
	sched, err := ParseSchedule(r.Schedule, r.LR, 0, 0)
	if err != nil {
		return nil, err
	}
	if c, ok := sched.(Cosine); ok && r.WarmupEpochs > 0 {
		c.Warmup = int64(r.WarmupEpochs * float64((train.N+r.BatchSize-1)/r.BatchSize))
		sched = c
	}
	var augment *data.Augment
	if r.MaxShift > 0 || r.Flip || r.EraseProb > 0 {
		augment = &data.Augment{MaxShift: r.MaxShift, FlipHorizontal: r.Flip, EraseProb: r.EraseProb}
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, err
	}
	hist := func(h *History) error {
		if err := h.WriteJSON(filepath.Join(opts.OutDir, "history.json")); err != nil {
			return err
		}
		if err := h.WriteCSV(filepath.Join(opts.OutDir, "history.csv")); err != nil {
			return err
		}
		_, err := PlotHistory(h, opts.OutDir)
		return err
	}
	ckpt := filepath.Join(opts.OutDir, "checkpoint.safetensors")
	trainer, err := NewTrainer(opts.Model, nil, Config{
		Epochs: r.Epochs, BatchSize: r.BatchSize, Optimizer: optimizer,
		Schedule: sched, LabelSmoothing: r.LabelSmoothing, Seed: opts.Seed, Threads: opts.Threads, Device: opts.Device, TF32: opts.TF32, CUDAGraphs: opts.CUDAGraphs,
		Augment: augment, Norm: data.FitStandardizer(train), CheckpointPath: ckpt, Log: log, OnEpochEnd: hist,
	})
	if err != nil {
		return nil, err
	}
	defer trainer.Close()
	fmt.Fprint(log, trainer.Summary())
	before := 0.0 // seconds of the epochs a resumed run had done
	if opts.Resume && fileExists(ckpt) {
		if err := trainer.Resume(ckpt); err != nil {
			return nil, fmt.Errorf("resume: %w (delete it or drop -resume to start over)", err)
		}
		fmt.Fprintf(log, "resumed from %s after epoch %d\n", ckpt, trainer.Epoch())
		for _, e := range trainer.History().Epochs {
			before += e.Seconds
		}
	}
	h := trainer.History()
	h.Dataset = "fashion-mnist"
	h.Params = map[string]string{"recipe": r.Name, "command": opts.Command}
	fmt.Fprintf(log, "training %s on %d images (validation %d), recipe %s: %s, batch %d, %s, label smoothing %g, weight decay %g\n",
		opts.Model.Name(), train.N, val.N, r.Name, h.Optimizer, r.BatchSize, sched, r.LabelSmoothing, r.WeightDecay)
	if _, err := trainer.Fit(train, val); err != nil {
		return nil, err
	}
	// A flip-trained model is measured with mirror TTA too (from the same pass over the test set).
	var testLoss, testAcc, mirrorAcc float64
	if r.Flip {
		testLoss, testAcc, mirrorAcc, err = trainer.EvaluateMirrorTTA(test)
	} else {
		testLoss, testAcc, err = trainer.Evaluate(test)
	}
	if err != nil {
		return nil, fmt.Errorf("test: %w", err)
	}
	if err := trainer.SaveWeights(filepath.Join(opts.OutDir, "model.safetensors")); err != nil {
		return nil, err
	}
	trainable, frozen := trainer.Params().Count()
	var input [3]int
	input[0], input[1], input[2] = opts.Model.InputShape()
	m := &Metrics{
		Model: opts.Model.Name(), Input: input, Recipe: r, Seed: opts.Seed, TestAccuracy: testAcc, TestLoss: testLoss, TestAccuracyMirrorTTA: mirrorAcc,
		Epochs: len(h.Epochs), TrainImages: train.N, ValImages: val.N, TestImages: test.N,
		Params: trainable + frozen, WallSeconds: before + time.Since(start).Seconds(), Device: deviceName(opts.Device), TF32: opts.TF32, CUDAGraphs: opts.CUDAGraphs,
		Machine: Machine(), GoVersion: runtime.Version(), Date: time.Now().UTC().Format(time.RFC3339), Command: opts.Command,
	}
	if n := len(h.Epochs); n > 0 {
		m.ValAccuracy = h.Epochs[n-1].ValAccuracy
		var sum float64
		for _, e := range h.Epochs {
			sum += e.ImagesPerSec
		}
		m.TrainImagesSec = sum / float64(n)
	}
	if err := writeJSON(filepath.Join(opts.OutDir, "metrics.json"), m); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "%s: test accuracy %.4f, test loss %.4f (%d test images)%s, %.0f s; results in %s\n",
		opts.Model.Name(), testAcc, testLoss, test.N, mirrorNote(mirrorAcc), m.WallSeconds, opts.OutDir)
	return m, nil
}

// mirrorNote is the mirror-TTA accuracy for a log line, "" when it was not measured.
func mirrorNote(acc float64) string {
	if acc == 0 {
		return ""
	}
	return fmt.Sprintf("; with mirror TTA %.4f", acc)
}

// Evaluation is what EvaluateFashionJob measures and writes to evaluation.json.
type Evaluation struct {
	Model                 string  `json:"model"`
	Weights               string  `json:"weights"`
	TestAccuracy          float64 `json:"test_accuracy"`
	TestLoss              float64 `json:"test_loss"`
	TestAccuracyMirrorTTA float64 `json:"test_accuracy_mirror_tta"`
	ValAccuracy           float64 `json:"val_accuracy"`
	ValAccuracyMirrorTTA  float64 `json:"val_accuracy_mirror_tta"`
	TestImages            int     `json:"test_images"`
	ValImages             int     `json:"val_images"`
	Device                string  `json:"device"`
	Machine               string  `json:"machine"`
	Date                  string  `json:"date"`
	Command               string  `json:"command"`
}

// EvaluateFashionJob evaluates trained weights of opts.Model (a model.safetensors or a
// checkpoint.safetensors that RunFashionJob wrote) on the validation and test sets, plainly and with
// mirror test-time augmentation, without training. The images are standardised as the training run
// did (statistics of its training images, so opts.Subset must match the run's). The result is
// written to OutDir/evaluation.json.
func EvaluateFashionJob(ctx context.Context, opts JobOptions, weights string) (*Evaluation, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	train, val, test, err := loadFashionSplits(ctx, opts, log)
	if err != nil {
		return nil, err
	}
	trainer, err := NewTrainer(opts.Model, nil, Config{BatchSize: 1, Seed: opts.Seed, Threads: opts.Threads, Device: opts.Device,
		TF32: opts.TF32, Norm: data.FitStandardizer(train), Log: log})
	if err != nil {
		return nil, err
	}
	defer trainer.Close()
	if err := trainer.LoadWeights(weights); err != nil {
		return nil, err
	}
	e := &Evaluation{Model: opts.Model.Name(), Weights: weights, TestImages: test.N, ValImages: val.N,
		Device: deviceName(opts.Device), Machine: Machine(), Date: time.Now().UTC().Format(time.RFC3339), Command: opts.Command}
	if e.TestLoss, e.TestAccuracy, e.TestAccuracyMirrorTTA, err = trainer.EvaluateMirrorTTA(test); err != nil {
		return nil, fmt.Errorf("test: %w", err)
	}
	if _, e.ValAccuracy, e.ValAccuracyMirrorTTA, err = trainer.EvaluateMirrorTTA(val); err != nil {
		return nil, fmt.Errorf("validation: %w", err)
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, err
	}
	if err := writeJSON(filepath.Join(opts.OutDir, "evaluation.json"), e); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "%s (%s): test accuracy %.4f (mirror TTA %.4f), validation %.4f (mirror TTA %.4f); written to %s\n",
		e.Model, weights, e.TestAccuracy, e.TestAccuracyMirrorTTA, e.ValAccuracy, e.ValAccuracyMirrorTTA,
		filepath.Join(opts.OutDir, "evaluation.json"))
	return e, nil
}

// loadFashionSplits loads Fashion-MNIST (downloading it unless opts.Offline) and splits it as the book
// does: the first 55,000 training images train (or the first opts.Subset of them), the last 5,000
// validate, and the 10,000 test images test.
func loadFashionSplits(ctx context.Context, opts JobOptions, log io.Writer) (train, val, test *data.Dataset, err error) {
	root, err := data.ResolveRoot(opts.DataDir)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := data.Ensure(ctx, root, data.FashionMNISTSpec(), data.FetchOptions{Offline: opts.Offline,
		Logf: func(f string, a ...any) { fmt.Fprintf(log, f+"\n", a...) }}); err != nil {
		return nil, nil, nil, fmt.Errorf("Fashion-MNIST under %s: %w", root, err)
	}
	full, test, err := data.LoadFashionMNIST(root)
	if err != nil {
		return nil, nil, nil, err
	}
	if train, val, err = data.SplitLast(full, 5000); err != nil {
		return nil, nil, nil, err
	}
	if opts.Subset > 0 {
		train = train.Subset(opts.Subset)
	}
	// A model built for another input size gets the images resized to it (bilinear, as Keras' Resizing).
	if c, h, w := opts.Model.InputShape(); c != full.C {
		return nil, nil, nil, fmt.Errorf("%s takes %d-channel images; Fashion-MNIST has %d", opts.Model.Name(), c, full.C)
	} else if h != full.H || w != full.W {
		fmt.Fprintf(log, "images resized from %d×%d to %d×%d (bilinear)\n", full.H, full.W, h, w)
		for _, d := range []**data.Dataset{&train, &val, &test} {
			if *d, err = (*d).Resized(h, w); err != nil {
				return nil, nil, nil, err
			}
		}
	}
	return train, val, test, nil
}

// WriteJSON writes v as indented JSON to path atomically (temporary file, fsync, rename), so a crash never
// leaves a half-written file.
func WriteJSON(path string, v any) error { return writeJSON(path, v) }

// writeJSON writes v as indented JSON, atomically.
func writeJSON(path string, v any) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// Machine describes the CPU the process runs on, for result records.
func Machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores (GOMAXPROCS %d), %s/%s", model, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
}

// KernelInit returns the initialiser a recipe names.
func (r Recipe) KernelInitializer() (graph.Initializer, error) {
	if r.KernelInit == "" {
		return graph.GlorotUniform{}, nil
	}
	init, ok := graph.ParseInitializer(r.KernelInit)
	if !ok {
		return nil, errors.New("unknown initializer " + r.KernelInit + " (want glorot_uniform, glorot_normal or he_normal)")
	}
	return init, nil
}

// deviceName is the device recorded in metrics.json.
func deviceName(d string) string {
	if d == "" {
		return "cpu"
	}
	return d
}
