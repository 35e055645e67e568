package training

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"

	"gorgonia.org/tensor"

	"fovea/graph"
)

// checkpointFormat names the layout of fovea's training checkpoints.
const checkpointFormat = "fovea.checkpoint.v1"

// weightsFormat names the layout of fovea's weights files (parameters only).
const weightsFormat = "fovea.weights.v1"

// ErrCheckpoint reports a checkpoint that does not belong to this model or run.
var ErrCheckpoint = errors.New("checkpoint mismatch")

// ParamTensors converts parameters to checkpoint tensors named prefix+name.
func ParamTensors(params []*graph.Param, prefix string) []NamedTensor {
	out := make([]NamedTensor, 0, len(params))
	for _, p := range params {
		out = append(out, NamedTensor{Name: prefix + p.Name, DType: "F32", Shape: []int(p.Value.Shape().Clone()), Data: p.Value.Float32s()})
	}
	return out
}

// LoadParamTensors copies tensors named prefix+name into params. It is strict: a parameter without a
// tensor, a tensor without a parameter, or a shape or type that differs is an error, and all of them
// are listed in one error.
func LoadParamTensors(params *graph.Params, tensors []NamedTensor, prefix string) error {
	byName := map[string]NamedTensor{}
	for _, t := range tensors {
		if name, ok := cutPrefix(t.Name, prefix); ok {
			byName[name] = t
		}
	}
	var problems []error
	for _, p := range params.All() {
		t, ok := byName[p.Name]
		if !ok {
			problems = append(problems, fmt.Errorf("missing %s %v", p.Name, p.Value.Shape()))
			continue
		}
		delete(byName, p.Name)
		data, ok := t.Data.([]float32)
		if !ok || !p.Value.Shape().Eq(tensor.Shape(t.Shape)) {
			problems = append(problems, fmt.Errorf("%s: file has %s %v, model wants F32 %v", p.Name, t.DType, t.Shape, p.Value.Shape()))
			continue
		}
		copy(p.Value.Float32s(), data)
	}
	for _, name := range sortedKeys(byName) {
		problems = append(problems, fmt.Errorf("unexpected %s %v", name, byName[name].Shape))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %w", ErrCheckpoint, errors.Join(problems...))
	}
	return nil
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}

// SaveWeights writes the model's parameters alone to a safetensors file (for evaluation and transfer).
func (t *Trainer) SaveWeights(path string) error {
	if err := t.syncHost(); err != nil {
		return err
	}
	return SaveCheckpoint(path, ParamTensors(t.params.All(), ""), map[string]string{
		"format": weightsFormat, "model": t.model.Name(), "input": t.inputMeta(),
	})
}

// SaveCheckpoint writes the whole training state: parameters, optimiser slots and counters, epoch,
// step and history. The write is atomic, so a crash leaves the previous checkpoint intact.
func (t *Trainer) SaveCheckpoint(path string) error {
	if err := t.syncHost(); err != nil {
		return err
	}
	tensors := ParamTensors(t.params.All(), "param/")
	slots, meta := t.opt.State()
	tensors = append(tensors, slots...)
	hist, err := json.Marshal(&t.history)
	if err != nil {
		return fmt.Errorf("checkpoint history: %w", err)
	}
	meta["format"] = checkpointFormat
	meta["model"] = t.model.Name()
	meta["input"] = t.inputMeta()
	meta["epoch"] = strconv.Itoa(t.epoch)
	meta["step"] = strconv.FormatInt(t.step, 10)
	meta["seed"] = strconv.FormatUint(t.cfg.Seed, 10)
	meta["history"] = string(hist)
	return SaveCheckpoint(path, tensors, meta)
}

// Resume restores the state SaveCheckpoint wrote, so that Fit continues the same run: the next epoch
// sees the same batches, augmentation and dropout masks an uninterrupted run would have.
func (t *Trainer) Resume(path string) error {
	// The host state is about to be replaced: whatever a device holds is stale.
	t.device.resident, t.device.dirty = nil, false
	tensors, meta, err := LoadCheckpoint(path)
	if err != nil {
		return err
	}
	if meta["format"] != checkpointFormat {
		return fmt.Errorf("%w: %s is not a fovea training checkpoint (format %q)", ErrCheckpoint, path, meta["format"])
	}
	if err := t.checkModelMeta(path, meta); err != nil {
		return err
	}
	if seed := strconv.FormatUint(t.cfg.Seed, 10); meta["seed"] != seed {
		return fmt.Errorf("%w: %s was trained with seed %s, this run has seed %s", ErrCheckpoint, path, meta["seed"], seed)
	}
	epoch, err := strconv.Atoi(meta["epoch"])
	if err != nil {
		return fmt.Errorf("%w: %s: epoch: %v", ErrCheckpoint, path, err)
	}
	step, err := strconv.ParseInt(meta["step"], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s: step: %v", ErrCheckpoint, path, err)
	}
	var hist History
	if err := json.Unmarshal([]byte(meta["history"]), &hist); err != nil {
		return fmt.Errorf("%w: %s: history: %v", ErrCheckpoint, path, err)
	}
	if err := LoadParamTensors(t.params, tensors, "param/"); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	slots := map[string]NamedTensor{}
	for _, nt := range tensors {
		slots[nt.Name] = nt
	}
	if err := t.opt.Restore(slots, meta); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCheckpoint, path, err)
	}
	t.epoch, t.step, t.history = epoch, step, hist
	return nil
}

// LoadWeights replaces the model's parameters with those of a weights file (SaveWeights) or of a
// training checkpoint (SaveCheckpoint) of the same model; the optimiser state and history are untouched.
func (t *Trainer) LoadWeights(path string) error {
	tensors, meta, err := LoadCheckpoint(path)
	if err != nil {
		return err
	}
	prefix := ""
	switch meta["format"] {
	case weightsFormat:
	case checkpointFormat:
		prefix = "param/"
	default:
		return fmt.Errorf("%w: %s holds neither fovea weights nor a fovea checkpoint (format %q)", ErrCheckpoint, path, meta["format"])
	}
	if err := t.checkModelMeta(path, meta); err != nil {
		return err
	}
	// The host state is about to be replaced: whatever a device holds is stale.
	t.device.resident, t.device.dirty = nil, false
	if err := LoadParamTensors(t.params, tensors, prefix); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// inputMeta is the model's input shape as weights files and checkpoints record it: "CxHxW".
func (t *Trainer) inputMeta() string {
	c, h, w := t.model.InputShape()
	return fmt.Sprintf("%dx%dx%d", c, h, w)
}

// checkModelMeta refuses a weights file or checkpoint of another model, or of the same model built for
// another input size (a residual network's parameters do not depend on it). Files written before the
// input was recorded are checked by name only.
func (t *Trainer) checkModelMeta(path string, meta map[string]string) error {
	if meta["model"] != t.model.Name() {
		return fmt.Errorf("%w: %s holds model %q, not %q", ErrCheckpoint, path, meta["model"], t.model.Name())
	}
	if in, ok := meta["input"]; ok && in != t.inputMeta() {
		return fmt.Errorf("%w: %s holds %s for %s inputs, this one takes %s", ErrCheckpoint, path, meta["model"], in, t.inputMeta())
	}
	return nil
}

// fileExists reports whether path names an existing file.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
