package training

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/arch"
	"fovea/data"
	"fovea/graph"
)

// ErrDiverged reports a run stopped because its loss stopped being a finite number.
var ErrDiverged = errors.New("training diverged")

// Config describes a training run. Zero values take the defaults noted.
type Config struct {
	Epochs    int // default 10
	BatchSize int // default 32
	// EvalBatchSize is the batch size of evaluation passes (default 256).
	EvalBatchSize int
	Optimizer     OptimizerConfig
	// Schedule gives the learning rate of each step (default Constant{0.001}).
	Schedule Schedule
	// LabelSmoothing ε trains against (1-ε)·onehot + ε/K.
	LabelSmoothing float64
	// Seed fixes initialisation, shuffling, augmentation and dropout.
	Seed uint64
	// Threads for the CPU kernels (default GOMAXPROCS).
	Threads int
	// Device runs the training and evaluation steps: "cpu" (default), "cuda" (a GPU; builds with the
	// gpu tag), or for tests "emulate" (the device path run by the CPU interpreter of device plans) and
	// "hostcuda" (the same with fovea.cu's kernels compiled for the host; builds with the hostcuda tag).
	Device string
	// TF32 lets the cuda device's GEMMs (convolutions and dense layers) use TF32 tensor cores, as
	// PyTorch's convolutions do by default: faster, with inputs rounded to a 10-bit mantissa. Off (the
	// default), the GPU computes in IEEE FP32 like the CPU. Only for the cuda device.
	TF32 bool
	// CUDAGraphs replays each training and evaluation step on the cuda device as one CUDA graph (from
	// a program's second step on; see cuda.Plan.Graphs): one launch per step instead of one per kernel.
	// Only for the cuda device.
	CUDAGraphs bool
	// Augment, when set, transforms training images (never evaluation images).
	Augment *data.Augment
	// Norm standardises the images of in-memory datasets (Fit, Evaluate); batch sources (FitSource,
	// EvaluateSource) normalise their own images.
	Norm *data.Standardizer
	// CheckpointPath, when set, receives the full training state after every epoch (atomically).
	CheckpointPath string
	// Log receives one line per epoch and, on a terminal, a live progress bar (default: discard).
	Log io.Writer
	// OnEpochEnd is called after every epoch with the history so far (e.g. to write curves).
	OnEpochEnd func(h *History) error
}

func (c *Config) defaults() error {
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.EvalBatchSize == 0 {
		c.EvalBatchSize = 256
	}
	if c.Schedule == nil {
		c.Schedule = Constant{LR: 0.001}
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.Device == "" {
		c.Device = "cpu"
	}
	switch {
	case c.Epochs < 0:
		return fmt.Errorf("epochs %d must be positive", c.Epochs)
	case c.BatchSize < 1 || c.EvalBatchSize < 1:
		return fmt.Errorf("batch sizes %d and %d must be positive", c.BatchSize, c.EvalBatchSize)
	case !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1):
		return fmt.Errorf("label smoothing %g must be in [0, 1)", c.LabelSmoothing)
	case c.TF32 && c.Device == "cpu":
		return fmt.Errorf("TF32 is a GPU precision mode; the cpu device always computes in FP32 (use -device cuda)")
	case c.CUDAGraphs && c.Device == "cpu":
		return fmt.Errorf("CUDA graphs replay GPU steps; the cpu device has none (use -device cuda)")
	}
	return nil
}

// Trainer trains one model: it owns the parameters, the optimiser state and the compiled programs
// (one per batch size and mode), and keeps the history of the run.
type Trainer struct {
	model   arch.Model
	params  *graph.Params
	cfg     Config
	exec    *graph.Exec
	opt     Optimizer
	train   map[int]*program
	eval    map[int]*program
	summary string
	// step counts optimiser steps; epoch counts finished epochs.
	step    int64
	epoch   int
	history History
	device  deviceState
}

// program is a compiled graph with its input and output buffers.
type program struct {
	prog          *graph.Program
	x             []float32
	y             []int32
	step          []int64 // nil when no layer is stochastic
	loss, correct *tensor.Dense
	// logits are the model's outputs (n × classes), kept in evaluation programs for Predict.
	logits  *tensor.Dense
	params  []*graph.Param
	grads   []*tensor.Dense
	updates []stateUpdate
	// inputs are the tensors fed every step (images, labels, and the step counter if any); dev runs the
	// program on a device when Config.Device is not the CPU.
	inputs []*tensor.Dense
	dev    *deviceRun
}

// stateUpdate is a moving average (BatchNorm's statistics) applied after each training step:
// param = momentum·param + (1-momentum)·value. paramT and valueT are the tensors param and value view
// (value from element offset on), for the device update.
type stateUpdate struct {
	param, value   []float32
	momentum       float32
	paramT, valueT *tensor.Dense
	offset         int
}

// applyUpdates moves every tracked statistic toward this step's value.
func (p *program) applyUpdates() {
	for _, u := range p.updates {
		m := u.momentum
		for i, v := range u.value {
			u.param[i] = m*u.param[i] + (1-m)*v
		}
	}
}

// NewTrainer prepares to train model. params may hold existing weights (transfer learning); nil starts
// from the model's initialisers.
func NewTrainer(model arch.Model, params *graph.Params, cfg Config) (*Trainer, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	opt, err := NewOptimizer(cfg.Optimizer)
	if err != nil {
		return nil, err
	}
	if params == nil {
		params = graph.NewParams()
	}
	t := &Trainer{
		model: model, params: params, cfg: cfg, exec: graph.NewExec(cfg.Threads), opt: opt,
		train: map[int]*program{}, eval: map[int]*program{},
		history: History{Model: model.Name(), Optimizer: opt.String(), BatchSize: cfg.BatchSize, Seed: int64(cfg.Seed)},
	}
	if s, ok := opt.(interface{ setExec(*graph.Exec) }); ok {
		s.setExec(t.exec)
	}
	// Compiling the training program creates (and initialises) every parameter.
	if _, err := t.program(cfg.BatchSize, true); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Close releases the trainer's worker threads and device memory.
func (t *Trainer) Close() {
	t.device.close()
	t.exec.Close()
}

// Params is the model's parameter set (brought up to date from the device first, when training
// runs on one).
func (t *Trainer) Params() *graph.Params {
	if err := t.syncHost(); err != nil {
		fmt.Fprintf(t.cfg.Log, "warning: %v\n", err)
	}
	return t.params
}

// Summary is the Keras-style summary of the model.
func (t *Trainer) Summary() string { return t.summary }

// History is the record of the epochs trained so far.
func (t *Trainer) History() *History { return &t.history }

// Epoch is the number of finished epochs.
func (t *Trainer) Epoch() int { return t.epoch }

// program returns the compiled program for batches of n in training or evaluation mode.
func (t *Trainer) program(n int, training bool) (*program, error) {
	cache := t.eval
	if training {
		cache = t.train
	}
	if p, ok := cache[n]; ok {
		return p, nil
	}
	g := G.NewGraph()
	b, err := graph.NewBuilder(g, t.params, graph.BuildOptions{Training: training, Seed: t.cfg.Seed})
	if err != nil {
		return nil, err
	}
	c, h, w := t.model.InputShape()
	xT := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n, c, h, w))
	yT := tensor.New(tensor.Of(tensor.Int32), tensor.WithShape(n))
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(n, c, h, w), G.WithName("images"), G.WithValue(xT))
	y := G.NewTensor(g, tensor.Int32, 1, G.WithShape(n), G.WithName("labels"), G.WithValue(yT))
	logits, err := t.model.Build(b, x)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", t.model.Name(), err)
	}
	if t.summary == "" {
		t.summary = graph.FormatSummary(t.model.Name(), b.Layers(), t.params)
	}
	loss, err := G.ApplyOp(graph.SoftmaxCrossEntropy{Smoothing: t.cfg.LabelSmoothing}, logits, y)
	if err != nil {
		return nil, fmt.Errorf("loss: %w", err)
	}
	correct, err := G.ApplyOp(graph.CountCorrect{}, logits, y)
	if err != nil {
		return nil, fmt.Errorf("accuracy: %w", err)
	}
	p := &program{x: xT.Float32s(), y: yT.Int32s()}
	outputs := G.Nodes{loss, correct}
	var grads G.Nodes
	if training {
		var wrt G.Nodes
		for _, param := range t.params.Trainable() {
			if n, ok := b.ParamNode(param.Name); ok {
				wrt = append(wrt, n)
				p.params = append(p.params, param)
			}
		}
		if len(wrt) == 0 {
			return nil, errors.New("the model has no trainable parameters")
		}
		if grads, err = G.Grad(loss, wrt...); err != nil {
			return nil, fmt.Errorf("gradients of %s: %w", t.model.Name(), err)
		}
		outputs = append(outputs, grads...)
		for _, u := range b.StateUpdates() {
			outputs = append(outputs, u.Value)
		}
	} else {
		outputs = append(outputs, logits)
	}
	if p.prog, err = graph.Compile(t.exec, outputs...); err != nil {
		return nil, err
	}
	for _, gn := range grads {
		p.grads = append(p.grads, p.prog.Value(gn))
	}
	if training {
		for _, u := range b.StateUpdates() {
			n := u.Param.Size()
			value := p.prog.Value(u.Value)
			p.updates = append(p.updates, stateUpdate{param: u.Param.Value.Float32s(),
				value: value.Float32s()[u.Offset : u.Offset+n], momentum: float32(u.Momentum),
				paramT: u.Param.Value, valueT: value, offset: u.Offset})
		}
	}
	p.loss, p.correct = p.prog.Value(loss), p.prog.Value(correct)
	if !training {
		p.logits = p.prog.Value(logits)
	}
	p.inputs = []*tensor.Dense{xT, yT}
	if s, ok := b.StepNode(); ok {
		p.step = p.prog.Value(s).Int64s()
		p.inputs = append(p.inputs, p.prog.Value(s))
	}
	if t.cfg.Device != "cpu" {
		if p.dev, err = t.lowerToDevice(p, training); err != nil {
			return nil, err
		}
	}
	cache[n] = p
	return p, nil
}

// run executes p on its current inputs and returns the batch loss and the number of correct answers.
func (p *program) run() (loss float64, correct int, err error) {
	if err := p.prog.Run(); err != nil {
		return 0, 0, err
	}
	return float64(p.loss.Float32s()[0]), int(p.correct.Float32s()[0]), nil
}

// BatchSource yields the batches of one epoch at a time into caller-owned buffers (NCHW images and
// int32 labels), in an order that is a function of the epoch only, so a resumed run sees the same
// batches. data.Batcher (in-memory datasets) and data.ImageBatcher (photo folders) implement it.
type BatchSource interface {
	Epoch(e int)
	Next(x []float32, y []int32) (n int, ok bool)
	BatchesPerEpoch() int
}

// Fit trains on an in-memory dataset for the configured number of epochs (continuing from Epoch() after
// a resume), standardising with Config.Norm and augmenting with Config.Augment, evaluates on val after
// every epoch, and returns the history.
func (t *Trainer) Fit(train, val *data.Dataset) (*History, error) {
	if t.cfg.Norm == nil {
		return nil, errors.New("fit: training on a dataset needs a standardizer (Config.Norm)")
	}
	batches, err := data.NewBatcher(train, data.BatchOptions{
		BatchSize: t.cfg.BatchSize, Shuffle: true, Seed: t.cfg.Seed, Augment: t.cfg.Augment, Norm: t.cfg.Norm,
	})
	if err != nil {
		return nil, fmt.Errorf("training batches: %w", err)
	}
	var valSource BatchSource
	if val != nil && val.N > 0 {
		if valSource, err = data.NewBatcher(val, data.BatchOptions{BatchSize: t.cfg.EvalBatchSize, Norm: t.cfg.Norm}); err != nil {
			return nil, fmt.Errorf("validation batches: %w", err)
		}
	}
	return t.FitSource(batches, valSource)
}

// FitSource is Fit over batch sources: train yields batches of at most BatchSize, val (nil for none)
// of at most EvalBatchSize.
func (t *Trainer) FitSource(batches, val BatchSource) (*History, error) {
	full, err := t.program(t.cfg.BatchSize, true)
	if err != nil {
		return nil, err
	}
	total := int64(batches.BatchesPerEpoch()) * int64(t.cfg.Epochs)
	progress := NewProgress(t.cfg.Log, t.cfg.Epochs)
	defer progress.Close()
	if t.history.Started.IsZero() {
		t.history.Started = time.Now()
	}
	for t.epoch < t.cfg.Epochs {
		epoch := t.epoch + 1
		batches.Epoch(t.epoch)
		progress.StartEpoch(epoch, batches.BatchesPerEpoch())
		start := time.Now()
		var lossSum float64
		var seen, right int
		lr := 0.0
		for {
			n, ok := batches.Next(full.x, full.y)
			if !ok {
				break
			}
			p := full
			if n < t.cfg.BatchSize {
				if p, err = t.program(n, true); err != nil {
					return nil, err
				}
				copy(p.x, full.x[:len(p.x)])
				copy(p.y, full.y[:n])
			}
			lr = t.cfg.Schedule.LearningRate(t.step, total)
			loss, correct, err := t.step1(p, lr)
			if err != nil {
				return nil, fmt.Errorf("epoch %d: %w", epoch, err)
			}
			lossSum += loss * float64(n)
			seen += n
			right += correct
			progress.Batch(n, loss, float64(correct)/float64(n))
		}
		trainSeconds := time.Since(start).Seconds()
		rec := EpochRecord{
			Epoch: epoch, TrainLoss: lossSum / float64(seen), TrainAccuracy: float64(right) / float64(seen),
			ValLoss: math.NaN(), ValAccuracy: math.NaN(), LearningRate: lr,
			ImagesPerSec: float64(seen) / trainSeconds,
		}
		if val != nil {
			if rec.ValLoss, rec.ValAccuracy, err = t.EvaluateSource(val); err != nil {
				return nil, fmt.Errorf("epoch %d validation: %w", epoch, err)
			}
			if math.IsNaN(rec.ValLoss) || math.IsInf(rec.ValLoss, 0) {
				return nil, fmt.Errorf("%w: validation loss is %v after epoch %d; lower the learning rate", ErrDiverged, rec.ValLoss, epoch)
			}
		}
		rec.Seconds = time.Since(start).Seconds()
		rec = progress.EndEpoch(rec)
		t.epoch = epoch
		t.history.Epochs = append(t.history.Epochs, rec)
		t.history.Finished = time.Now()
		if t.cfg.CheckpointPath != "" {
			if err := t.SaveCheckpoint(t.cfg.CheckpointPath); err != nil {
				return nil, err
			}
		}
		if t.cfg.OnEpochEnd != nil {
			if err := t.cfg.OnEpochEnd(&t.history); err != nil {
				return nil, err
			}
		}
	}
	return &t.history, nil
}

// Evaluate returns the mean loss and the accuracy of the model on ds (evaluation mode: no dropout,
// BatchNorm with moving statistics), standardised with Config.Norm.
func (t *Trainer) Evaluate(ds *data.Dataset) (loss, accuracy float64, err error) {
	if t.cfg.Norm == nil {
		return 0, 0, errors.New("evaluate: a dataset needs a standardizer (Config.Norm)")
	}
	batches, err := data.NewBatcher(ds, data.BatchOptions{BatchSize: t.cfg.EvalBatchSize, Norm: t.cfg.Norm})
	if err != nil {
		return 0, 0, err
	}
	return t.EvaluateSource(batches)
}

// EvaluateSource is Evaluate over a batch source yielding batches of at most EvalBatchSize.
func (t *Trainer) EvaluateSource(batches BatchSource) (loss, accuracy float64, err error) {
	var sums evalSums
	err = t.forEachEvalBatch(batches, func(_ *program, n int, l float64, c int) error {
		sums.add(n, l, c)
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return sums.means("evaluate")
}

// evalSums adds up an evaluation's batches.
type evalSums struct {
	loss        float64 // sum of the batches' mean losses, each weighted by its size
	seen, right int
}

func (s *evalSums) add(n int, loss float64, correct int) {
	s.loss += loss * float64(n)
	s.seen += n
	s.right += correct
}

// means is the mean loss and the accuracy; what names the caller in the error for an empty dataset.
func (s *evalSums) means(what string) (loss, accuracy float64, err error) {
	if s.seen == 0 {
		return 0, 0, errors.New(what + ": empty dataset")
	}
	return s.loss / float64(s.seen), float64(s.right) / float64(s.seen), nil
}

// forEachEvalBatch runs the evaluation program over every batch of batches and calls fn with the program
// that ran (its outputs hold the batch's results), the batch size, the batch's loss and correct count.
func (t *Trainer) forEachEvalBatch(batches BatchSource, fn func(p *program, n int, loss float64, correct int) error) error {
	full, err := t.program(t.cfg.EvalBatchSize, false)
	if err != nil {
		return err
	}
	batches.Epoch(0)
	for {
		n, ok := batches.Next(full.x, full.y)
		if !ok {
			return nil
		}
		p := full
		if n < t.cfg.EvalBatchSize {
			if p, err = t.program(n, false); err != nil {
				return err
			}
			copy(p.x, full.x[:len(p.x)])
			copy(p.y, full.y[:n])
		}
		l, c, err := t.run(p, nil)
		if err != nil {
			return err
		}
		if err := fn(p, n, l, c); err != nil {
			return err
		}
	}
}

// TrainOnBatch runs one training step on a batch (images NCHW, as the model's InputShape, and labels)
// with learning rate lr, as Keras' train_on_batch, and returns the batch loss and the number of correct
// answers. Fit is built from the same step; this entry point serves benchmarks and custom loops.
func (t *Trainer) TrainOnBatch(images []float32, labels []int32, lr float64) (loss float64, correct int, err error) {
	n := len(labels)
	if n == 0 {
		return 0, 0, errors.New("train on batch: empty batch")
	}
	p, err := t.program(n, true)
	if err != nil {
		return 0, 0, err
	}
	if len(images) != len(p.x) {
		return 0, 0, fmt.Errorf("train on batch: %d image values for %d labels, want %d", len(images), n, len(p.x))
	}
	copy(p.x, images)
	copy(p.y, labels)
	return t.step1(p, lr)
}

// step1 runs one optimiser step on the batch already in p's input buffers.
func (t *Trainer) step1(p *program, lr float64) (loss float64, correct int, err error) {
	if p.step != nil {
		p.step[0] = t.step
	}
	var update *deviceUpdate
	if p.dev != nil {
		// On a device the optimizer's update is part of the run: its constants go up with the batch.
		u := advanceDevice(t.opt, lr, t.device.scalars)
		t.device.scalars, update = u.args, &u
	}
	if loss, correct, err = t.run(p, update); err != nil {
		return 0, 0, fmt.Errorf("step %d: %w", t.step, err)
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, 0, fmt.Errorf("%w: loss is %v at step %d (learning rate %g); lower the learning rate or check the data", ErrDiverged, loss, t.step, lr)
	}
	if p.dev == nil {
		if err := t.opt.Step(p.params, p.grads, lr); err != nil {
			return 0, 0, err
		}
		p.applyUpdates()
	}
	t.step++
	return loss, correct, nil
}

// Program returns the compiled program for batches of n, in training or evaluation mode, compiling it
// if needed. Device backends lower it; tests inspect it.
func (t *Trainer) Program(n int, training bool) (*graph.Program, error) {
	p, err := t.program(n, training)
	if err != nil {
		return nil, err
	}
	return p.prog, nil
}
