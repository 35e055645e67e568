// Package cli holds the command-line plumbing shared by fovea's scripts: flag definitions, their help
// text, and the mapping from flags to the library's options. Only scripts import it.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"fovea/arch"
	"fovea/cuda"
	"fovea/graph"
	"fovea/training"
)

// FashionMain is the whole main of a Fashion-MNIST training script: it parses flags, trains the model
// that newModel builds, and exits non-zero with a clear message on any error.
func FashionMain(name, about string, newModel func(init graph.Initializer) arch.Model) {
	fashionMain(name, about, func(init graph.Initializer, _ int) arch.Model { return newModel(init) }, false)
}

// FashionMainSized is FashionMain for a network built for any input size (side×side): it offers
// -input-size, and the images are resized to it.
func FashionMainSized(name, about string, newModel func(init graph.Initializer, side int) arch.Model) {
	fashionMain(name, about, newModel, true)
}

func fashionMain(name, about string, newModel func(init graph.Initializer, side int) arch.Model, sized bool) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nUsage: go run ./scripts/%s [flags]\n\nFlags (recipe flags override the recipe's values only when given):\n", about, name)
		fs.PrintDefaults()
	}
	recipes := training.Recipes()
	recipeName := fs.String("recipe", "book", "training recipe: book (Géron: Nadam, batch 32, constant lr 0.001) or better (batch 64, cosine decay, label smoothing 0.1)")
	epochs := fs.Int("epochs", 0, "epochs to train (recipe: 10)")
	batch := fs.Int("batch", 0, "training batch size (recipe: 32 book, 64 better)")
	lr := fs.Float64("lr", 0, "peak learning rate (recipe: 0.001)")
	optimizer := fs.String("optimizer", "", "optimizer: nadam, adam or sgd (recipe: nadam)")
	momentum := fs.Float64("momentum", 0, "with -optimizer sgd: momentum in [0, 1) (recipe: 0, as Keras' SGD)")
	nesterov := fs.Bool("nesterov", false, "with -optimizer sgd: Nesterov momentum")
	schedule := fs.String("schedule", "", "learning-rate schedule: constant or cosine (recipe: constant book, cosine better)")
	warmup := fs.Float64("warmup-epochs", 0, "linear warm-up before a cosine schedule, in epochs")
	smoothing := fs.Float64("label-smoothing", -1, "label smoothing in [0, 1) (recipe: 0 book, 0.1 better)")
	shift := fs.Int("shift", -1, "augmentation: random translation of up to N pixels (recipe: 0)")
	flip := fs.Bool("flip", false, "augmentation: random horizontal flips")
	erase := fs.Float64("erase", 0, "augmentation: probability of random erasing, a rectangle of 2–40% of the image set to the mean (recipe: 0)")
	weightDecay := fs.Float64("weight-decay", 0, "decoupled weight decay of the kernels per step, scaled by the learning rate (AdamW; recipe: 0)")
	initName := fs.String("init", "", "kernel initializer: glorot_uniform, glorot_normal or he_normal (recipe: glorot_uniform)")
	seed := fs.Uint64("seed", 42, "random seed (initialisation, shuffling, augmentation, dropout)")
	dataDir := fs.String("data", "", "data root holding fashion-mnist/ (default $FOVEA_DATA, else the user cache dir; missing files are downloaded and checksummed)")
	offline := fs.Bool("offline", false, "never download; fail if data is missing")
	out := fs.String("out", "", "output folder for metrics, history, curves and checkpoints (default runs/"+name+"-<recipe>)")
	subset := fs.Int("subset", 0, "train on the first N training images only (0: all 55,000)")
	threads := fs.Int("threads", 0, "CPU threads (0: all)")
	resume := fs.Bool("resume", false, "continue from <out>/checkpoint.safetensors if it exists")
	device := fs.String("device", "cpu", "device to train on: cpu, or cuda (a GPU; needs a build with -tags gpu, see scripts/gpu)")
	graphs := fs.Bool("cuda-graphs", false, "with -device cuda: replay each step as one CUDA graph (one launch per step instead of one per kernel)")
	tf32 := fs.Bool("tf32", true, "with -device cuda: run convolutions and dense layers on TF32 tensor cores (inputs rounded to 10 mantissa bits, sums in FP32), as Keras and PyTorch convolutions do by default on such GPUs; -tf32=false computes in IEEE FP32, like the CPU")
	side := 28
	if sized {
		fs.IntVar(&side, "input-size", 28, "build the network for N×N inputs and resize the 28×28 images to it (bilinear, as Keras' Resizing layer); 56 gives the stem's 4× downsampling 14×14 maps instead of 7×7, for 4× the compute")
	}
	evaluate := fs.String("evaluate", "", "evaluate this model.safetensors or checkpoint.safetensors of a finished run on the validation and test sets, plainly and with mirror test-time augmentation, instead of training (write evaluation.json beside it, or in -out; -subset must match the run's; the network is built for the input size the file records unless -input-size is given)")
	_ = fs.Parse(os.Args[1:])

	r, ok := recipes[*recipeName]
	if !ok {
		fail(name, fmt.Errorf("unknown recipe %q (want book or better)", *recipeName))
	}
	// Flags the user gave override the recipe.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "epochs":
			r.Epochs = *epochs
		case "batch":
			r.BatchSize = *batch
		case "lr":
			r.LR = *lr
		case "optimizer":
			r.Optimizer = *optimizer
		case "momentum":
			r.Momentum = *momentum
		case "nesterov":
			r.Nesterov = *nesterov
		case "schedule":
			r.Schedule = *schedule
		case "warmup-epochs":
			r.WarmupEpochs = *warmup
		case "label-smoothing":
			r.LabelSmoothing = *smoothing
		case "shift":
			r.MaxShift = *shift
		case "flip":
			r.Flip = *flip
		case "init":
			r.KernelInit = *initName
		case "weight-decay":
			r.WeightDecay = *weightDecay
		case "erase":
			r.EraseProb = *erase
		}
	})
	if err := CheckDevice(*device); err != nil {
		fail(name, err)
	}
	init, err := r.KernelInitializer()
	if err != nil {
		fail(name, err)
	}
	if sized && *evaluate != "" && !given(fs, "input-size") {
		// Evaluate the network the file was trained as: its input size is recorded beside the weights.
		recorded, err := recordedSide(*evaluate)
		if err != nil {
			fail(name, err)
		}
		if recorded != 0 && recorded != side {
			fmt.Fprintf(os.Stderr, "%s: %s was trained on %d×%d inputs: evaluating at that size\n", name, *evaluate, recorded, recorded)
			side = recorded
		}
	}
	if side < 8 || side > 1024 {
		fail(name, fmt.Errorf("-input-size %d: want a side from 8 to 1024", side))
	}
	model := newModel(init, side)
	tf32On := *tf32 && *device == "cuda" // the flag's default applies to the GPU only
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	command := strings.Join(append([]string{"go run ./scripts/" + name}, os.Args[1:]...), " ")
	if *evaluate != "" {
		outDir := *out
		if outDir == "" {
			outDir = filepath.Dir(*evaluate)
		}
		_, err := training.EvaluateFashionJob(ctx, training.JobOptions{
			Model: model, Seed: *seed, DataDir: *dataDir, OutDir: outDir, Subset: *subset,
			Threads: *threads, Device: *device, TF32: tf32On, Offline: *offline, Log: os.Stderr, Command: command,
		}, *evaluate)
		if err != nil {
			fail(name, err)
		}
		return
	}
	outDir := *out
	if outDir == "" {
		outDir = filepath.Join("runs", name+"-"+r.Name)
	}
	if !*resume {
		if _, err := os.Stat(filepath.Join(outDir, "checkpoint.safetensors")); err == nil {
			fmt.Fprintf(os.Stderr, "%s: note: %s holds a checkpoint; this run starts over (pass -resume to continue it)\n", name, outDir)
		}
	}
	_, err = training.RunFashionJob(ctx, training.JobOptions{
		Model: model, Recipe: r, Seed: *seed, DataDir: *dataDir, OutDir: outDir, Subset: *subset,
		Threads: *threads, Device: *device, TF32: tf32On, CUDAGraphs: *graphs, Resume: *resume, Offline: *offline, Log: os.Stderr,
		Command: command,
	})
	if err != nil {
		fail(name, err)
	}
}

// given reports whether the command line set the flag.
func given(fs *flag.FlagSet, flagName string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == flagName })
	return set
}

// recordedSide is the square input side that a weights file or checkpoint records, or 0 when it records
// none (older files) or a non-square input (left for the model check to report).
func recordedSide(path string) (int, error) {
	_, height, width, err := training.RecordedInput(path)
	switch {
	case errors.Is(err, training.ErrNoInputRecorded):
		return 0, nil
	case err != nil:
		return 0, err
	case height != width:
		return 0, nil
	}
	return height, nil
}

// CheckDevice accepts the devices this build supports.
func CheckDevice(device string) error {
	switch device {
	case "cpu":
		return nil
	case "cuda", "gpu":
		if !cuda.Available {
			return cuda.ErrNoCUDA
		}
		return nil
	}
	return fmt.Errorf("unknown device %q (want cpu or cuda)", device)
}

func fail(name string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(1)
}
