package transfer

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"fovea/arch"
	"fovea/data"
	"fovea/graph"
	"fovea/training"
)

// Phase is one stage of transfer learning: training the head on a frozen backbone, or fine-tuning.
type Phase struct {
	Epochs    int
	Optimizer training.OptimizerConfig
	LR        float64
	// Decay is Keras' legacy per-step decay, lr/(1 + decay·step) (0: constant learning rate).
	Decay float64
}

func (p Phase) schedule() (training.Schedule, error) {
	if p.Decay > 0 {
		return training.ParseSchedule("inverse-time", p.LR, p.Decay, 0)
	}
	return training.ParseSchedule("constant", p.LR, 0, 0)
}

// FlowersRecipe gives the phases for a backbone. Xception follows Géron's chapter 14: 5 epochs of
// SGD(lr 0.2, momentum 0.9, decay 0.01) on the frozen backbone, then 40 epochs of SGD(lr 0.01,
// momentum 0.9, Nesterov, decay 0.001) on the whole network. SqueezeNet has no batch normalisation:
// its features are large (Caffe-scaled inputs), so the book's step sizes blow up its head and diverge
// when fine-tuning; it trains the head with Adam at 1e-3 for 5 epochs and fine-tunes with Adam at 1e-4
// for 5 epochs.
func FlowersRecipe(backbone string) (frozen, fine Phase) {
	frozen = Phase{Epochs: 5, Optimizer: training.OptimizerConfig{Name: "sgd", Momentum: 0.9}, LR: 0.2, Decay: 0.01}
	fine = Phase{Epochs: 40, Optimizer: training.OptimizerConfig{Name: "sgd", Momentum: 0.9, Nesterov: true}, LR: 0.01, Decay: 0.001}
	if backbone == "squeezenet" {
		frozen = Phase{Epochs: 5, Optimizer: training.OptimizerConfig{Name: "adam"}, LR: 1e-3}
		fine = Phase{Epochs: 5, Optimizer: training.OptimizerConfig{Name: "adam"}, LR: 1e-4}
	}
	return frozen, fine
}

// FlowersOptions describes a transfer-learning job on tf_flowers.
type FlowersOptions struct {
	Backbone string // xception or squeezenet
	// Weights is a fovea safetensors file of the backbone (scripts/h5convert); "" downloads the official
	// Keras file and converts it once.
	Weights string
	// RandomWeights skips pretrained weights altogether (a control: it shows what the import is worth).
	RandomWeights bool
	Frozen, Fine  Phase
	// UnfreezeTop, when positive, fine-tunes only the backbone's last UnfreezeTop layers.
	UnfreezeTop int
	BatchSize   int     // default 32
	Dropout     float64 // head dropout, default 0.2 (negative: none)
	Size        int     // input side, default 224
	Seed        uint64
	// PerClass limits the photos per class (0: all 3670), for quick runs.
	PerClass int
	DataDir  string
	OutDir   string
	Threads  int
	Offline  bool
	Log      io.Writer
	Command  string
}

// PhaseResult is the outcome of one phase.
type PhaseResult struct {
	Name         string  `json:"name"`
	Epochs       int     `json:"epochs"`
	Optimizer    string  `json:"optimizer"`
	Schedule     string  `json:"schedule"`
	Trainable    int     `json:"trainable_params"`
	TestAccuracy float64 `json:"test_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	ValAccuracy  float64 `json:"val_accuracy"`
	Seconds      float64 `json:"seconds"`
	EpochSeconds float64 `json:"seconds_per_epoch"`
	ImagesPerSec float64 `json:"train_images_per_sec"`
}

// FlowersMetrics is what the job writes to metrics.json.
type FlowersMetrics struct {
	Model       string        `json:"model"`
	Dataset     string        `json:"dataset"`
	Weights     string        `json:"weights"`
	Seed        uint64        `json:"seed"`
	TrainImages int           `json:"train_images"`
	ValImages   int           `json:"val_images"`
	TestImages  int           `json:"test_images"`
	Phases      []PhaseResult `json:"phases"`
	// TestAccuracy is the final phase's, for tables that show one number per run.
	TestAccuracy float64 `json:"test_accuracy"`
	Epochs       int     `json:"epochs"`
	WallSeconds  float64 `json:"wall_seconds"`
	Device       string  `json:"device"`
	Machine      string  `json:"machine"`
	GoVersion    string  `json:"go_version"`
	Date         string  `json:"date"`
	Command      string  `json:"command"`
}

// RunFlowers trains a classifier head on a pretrained backbone with tf_flowers (seeded 75/15/10 split),
// first with the backbone frozen, then fine-tuning, evaluating on the test photos after each phase. It
// writes to OutDir: frozen/ and finetune/ (history.json, history.csv, accuracy.png, loss.png,
// checkpoint.safetensors), model.safetensors and metrics.json.
func RunFlowers(ctx context.Context, o FlowersOptions) (*FlowersMetrics, error) {
	start := time.Now()
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.Size == 0 {
		o.Size = 224
	}
	if o.Dropout == 0 {
		o.Dropout = 0.2
	}
	if o.Dropout < 0 {
		o.Dropout = 0 // an explicit "no dropout"
	}
	backbone, err := NewBackbone(o.Backbone, o.Size)
	if err != nil {
		return nil, err
	}
	root, err := data.ResolveRoot(o.DataDir)
	if err != nil {
		return nil, err
	}
	fetch := data.FetchOptions{Offline: o.Offline, Logf: func(f string, a ...any) { fmt.Fprintf(o.Log, f+"\n", a...) }}
	if _, err := data.EnsureFlowers(ctx, root, fetch); err != nil {
		return nil, err
	}
	folder, err := data.ScanFlowers(root)
	if err != nil {
		return nil, err
	}
	if o.PerClass > 0 {
		folder = folder.FirstPerClass(o.PerClass)
	}
	t0 := time.Now()
	photos, err := folder.Load(data.LoadOptions{ShorterSide: 256})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "decoded %d photos (%d classes) in %.1f s, %.0f MB cached\n", photos.Len(), len(photos.ClassNames), time.Since(t0).Seconds(), float64(photos.Bytes())/1e6)
	train, valid, test, err := data.SplitFlowers(photos, o.Seed)
	if err != nil {
		return nil, err
	}
	model := arch.Classifier{Backbone: backbone, NumClasses: len(photos.ClassNames), Dropout: o.Dropout}
	norm := backbone.Preprocessing()
	batches := func(imgs *data.Images, size int, trainMode bool) (*data.ImageBatcher, error) {
		return data.NewImageBatcher(imgs, data.ImageBatchOptions{BatchSize: size, Size: o.Size, Train: trainMode,
			Shuffle: trainMode, Seed: o.Seed, Norm: norm})
	}
	trainSrc, err := batches(train, o.BatchSize, true)
	if err != nil {
		return nil, err
	}
	defer trainSrc.Close()
	validSrc, err := batches(valid, o.BatchSize, false)
	if err != nil {
		return nil, err
	}
	defer validSrc.Close()
	testSrc, err := batches(test, o.BatchSize, false)
	if err != nil {
		return nil, err
	}
	defer testSrc.Close()

	// Build the model once to create its parameters, then load the backbone's weights.
	params := graph.NewParams()
	probe, err := training.NewTrainer(model, params, training.Config{BatchSize: 1, Threads: 1, Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	fmt.Fprint(o.Log, probe.Summary())
	probe.Close()
	weights := "random"
	if !o.RandomWeights {
		path := o.Weights
		if path == "" {
			if path, err = PretrainedWeights(ctx, root, o.Backbone, fetch); err != nil {
				return nil, err
			}
		}
		meta, err := Load(path, params, LoadOptions{Missing: []string{"head/"}})
		if err != nil {
			return nil, err
		}
		if m := meta["model"]; m != "" && m != o.Backbone {
			return nil, fmt.Errorf("%w: %s holds %q weights, the backbone is %q", ErrMismatch, path, m, o.Backbone)
		}
		weights = path
		fmt.Fprintf(o.Log, "loaded %s weights from %s\n", o.Backbone, path)
	}

	m := &FlowersMetrics{Model: o.Backbone, Dataset: "tf_flowers", Weights: weights, Seed: o.Seed,
		TrainImages: train.Len(), ValImages: valid.Len(), TestImages: test.Len(), Device: "cpu",
		Machine: training.Machine(), GoVersion: runtime.Version(), Command: o.Command}
	run := func(name string, phase Phase) error {
		if phase.Epochs <= 0 {
			return nil
		}
		sched, err := phase.schedule()
		if err != nil {
			return err
		}
		dir := filepath.Join(o.OutDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		tr, err := training.NewTrainer(model, params, training.Config{
			Epochs: phase.Epochs, BatchSize: o.BatchSize, EvalBatchSize: o.BatchSize, Optimizer: phase.Optimizer,
			Schedule: sched, Seed: o.Seed, Threads: o.Threads, Log: o.Log,
			CheckpointPath: filepath.Join(dir, "checkpoint.safetensors"),
			OnEpochEnd: func(h *training.History) error {
				if err := h.WriteJSON(filepath.Join(dir, "history.json")); err != nil {
					return err
				}
				if err := h.WriteCSV(filepath.Join(dir, "history.csv")); err != nil {
					return err
				}
				_, err := training.PlotHistory(h, dir)
				return err
			},
		})
		if err != nil {
			return err
		}
		defer tr.Close()
		trainable, _ := params.Count()
		h := tr.History()
		h.Model, h.Dataset = o.Backbone+" "+name, "tf_flowers"
		fmt.Fprintf(o.Log, "phase %s: %d trainable parameters, %v, %s, %d epochs\n", name, trainable, phase.Optimizer.Name, sched, phase.Epochs)
		began := time.Now()
		if _, err := tr.FitSource(trainSrc, validSrc); err != nil {
			return fmt.Errorf("phase %s: %w", name, err)
		}
		loss, acc, err := tr.EvaluateSource(testSrc)
		if err != nil {
			return fmt.Errorf("phase %s test: %w", name, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("phase %s: %w: the test loss is %v (the weights blew up); lower the learning rate", name, training.ErrDiverged, loss)
		}
		r := PhaseResult{Name: name, Epochs: len(h.Epochs), Optimizer: tr.History().Optimizer, Schedule: sched.String(),
			Trainable: trainable, TestAccuracy: acc, TestLoss: loss, Seconds: time.Since(began).Seconds()}
		if n := len(h.Epochs); n > 0 {
			r.ValAccuracy = h.Epochs[n-1].ValAccuracy
			var secs, ips float64
			for _, e := range h.Epochs {
				secs += e.Seconds
				ips += e.ImagesPerSec
			}
			r.EpochSeconds, r.ImagesPerSec = secs/float64(n), ips/float64(n)
		}
		fmt.Fprintf(o.Log, "phase %s: test accuracy %.4f, test loss %.4f (%d photos)\n", name, acc, loss, test.Len())
		m.Phases = append(m.Phases, r)
		m.TestAccuracy, m.Epochs = acc, m.Epochs+r.Epochs
		return tr.SaveWeights(filepath.Join(o.OutDir, "model.safetensors"))
	}
	FreezeAllBut(params, "head/")
	if err := run("frozen", o.Frozen); err != nil {
		return nil, err
	}
	if o.Fine.Epochs > 0 {
		if o.UnfreezeTop > 0 {
			if _, err := UnfreezeTop(params, o.UnfreezeTop, "head/"); err != nil {
				return nil, err
			}
		} else {
			UnfreezeAll(params)
		}
		if err := run("finetune", o.Fine); err != nil {
			return nil, err
		}
	}
	m.WallSeconds = time.Since(start).Seconds()
	m.Date = time.Now().UTC().Format(time.RFC3339)
	if err := training.WriteJSON(filepath.Join(o.OutDir, "metrics.json"), m); err != nil {
		return nil, err
	}
	return m, nil
}
