// Command xception-flowers does transfer learning on tf_flowers as in Géron's chapter 14: a pretrained
// backbone (Keras Xception, or SqueezeNet) with its top replaced by global average pooling, dropout and
// a dense classifier, trained first with the backbone frozen, then fine-tuned; -h lists the flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"fovea/scripts/internal/cli"
	"fovea/training"
	"fovea/transfer"
)

func main() {
	fs := flag.NewFlagSet("xception-flowers", flag.ExitOnError)
	backbone := fs.String("backbone", "xception", "pretrained backbone: xception or squeezenet")
	weights := fs.String("weights", "", "backbone weights as fovea safetensors (scripts/h5convert); empty downloads the official Keras file (checksum verified) and converts it once")
	random := fs.Bool("random-weights", false, "start from random backbone weights (a control that shows what the import is worth)")
	frozenEpochs := fs.Int("frozen-epochs", -1, "epochs with the backbone frozen (default from the recipe: 5)")
	frozenOpt := fs.String("frozen-optimizer", "", "optimizer of the frozen phase: sgd, adam or nadam (recipe: sgd with momentum 0.9 for xception, adam for squeezenet)")
	frozenLR := fs.Float64("frozen-lr", 0, "learning rate of the frozen phase (recipe: 0.2 xception, 1e-3 squeezenet)")
	frozenDecay := fs.Float64("frozen-decay", -1, "Keras legacy per-step decay lr/(1+decay·step) of the frozen phase (recipe: 0.01 xception, 0 squeezenet)")
	fineEpochs := fs.Int("finetune-epochs", -1, "fine-tuning epochs (recipe: 40 for xception, 5 for squeezenet; 0 skips fine-tuning)")
	fineOpt := fs.String("finetune-optimizer", "", "fine-tuning optimizer (recipe: sgd with Nesterov momentum 0.9 for xception, adam for squeezenet)")
	fineLR := fs.Float64("finetune-lr", 0, "fine-tuning learning rate (recipe: 0.01 xception, 1e-4 squeezenet)")
	fineDecay := fs.Float64("finetune-decay", -1, "fine-tuning legacy decay (recipe: 0.001 xception, 0 squeezenet)")
	unfreezeTop := fs.Int("unfreeze-top", 0, "fine-tune only the backbone's last N layers (0: all)")
	batch := fs.Int("batch", 32, "batch size")
	dropout := fs.Float64("dropout", 0.2, "dropout rate of the head")
	seed := fs.Uint64("seed", 42, "random seed (split, initialisation, shuffling, augmentation, dropout)")
	perClass := fs.Int("per-class", 0, "use only the first N photos of each class (0: all 3670 photos)")
	dataDir := fs.String("data", "", "data root holding flower_photos/ and keras-weights/ (default $FOVEA_DATA, else the user cache dir; missing files are downloaded)")
	offline := fs.Bool("offline", false, "never download; fail if data or weights are missing")
	out := fs.String("out", "", "output folder (default runs/flowers-<backbone>)")
	threads := fs.Int("threads", 0, "CPU threads (0: all)")
	device := fs.String("device", "cpu", "device: cpu or cuda")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Transfer learning on tf_flowers (75/15/10 split): frozen backbone, then fine-tuning.\n\nUsage: go run ./scripts/xception-flowers [flags]\n\nFlags:\n")
		fs.PrintDefaults()
	}
	_ = fs.Parse(os.Args[1:])
	if err := cli.CheckDevice(*device); err != nil {
		fail(err)
	}
	frozen, fine := transfer.FlowersRecipe(*backbone)
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "frozen-epochs":
			frozen.Epochs = *frozenEpochs
		case "frozen-optimizer":
			frozen.Optimizer = optimizer(*frozenOpt)
		case "frozen-lr":
			frozen.LR = *frozenLR
		case "frozen-decay":
			frozen.Decay = *frozenDecay
		case "finetune-epochs":
			fine.Epochs = *fineEpochs
		case "finetune-optimizer":
			fine.Optimizer = optimizer(*fineOpt)
		case "finetune-lr":
			fine.LR = *fineLR
		case "finetune-decay":
			fine.Decay = *fineDecay
		}
	})
	outDir := *out
	if outDir == "" {
		outDir = filepath.Join("runs", "flowers-"+*backbone)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m, err := transfer.RunFlowers(ctx, transfer.FlowersOptions{
		Backbone: *backbone, Weights: *weights, RandomWeights: *random, Frozen: frozen, Fine: fine,
		UnfreezeTop: *unfreezeTop, BatchSize: *batch, Dropout: *dropout, Seed: *seed, PerClass: *perClass,
		DataDir: *dataDir, OutDir: outDir, Threads: *threads, Offline: *offline, Log: os.Stderr,
		Command: strings.Join(append([]string{"go run ./scripts/xception-flowers"}, os.Args[1:]...), " "),
	})
	if err != nil {
		fail(err)
	}
	for _, p := range m.Phases {
		fmt.Printf("%s %s: test accuracy %.4f after %d epochs (%.0f s/epoch)\n", *backbone, p.Name, p.TestAccuracy, p.Epochs, p.EpochSeconds)
	}
}

// optimizer maps a flag value to an optimizer; SGD gets Keras' momentum 0.9 as the book uses.
func optimizer(name string) training.OptimizerConfig {
	if name == "sgd" {
		return training.OptimizerConfig{Name: "sgd", Momentum: 0.9}
	}
	return training.OptimizerConfig{Name: name}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "xception-flowers: %v\n", err)
	os.Exit(1)
}
