// Package transfer moves pretrained weights into fovea models and prepares them for transfer learning:
// it loads safetensors files into a parameter set by name (strictly by default), freezes a backbone,
// and unfreezes all of it or its top layers for fine-tuning. Converting Keras HDF5 files to safetensors
// is package transfer/keras. The package never trains; package training does.
package transfer

import (
	"errors"
	"fmt"
	"strings"

	"fovea/graph"
	"fovea/training"
)

// ErrMismatch reports weights that do not fit the model; its message lists every problem.
var ErrMismatch = training.ErrCheckpoint

// LoadOptions relaxes the strict match between a weights file and a parameter set.
type LoadOptions struct {
	// Missing lists name prefixes of parameters that may be absent from the file and keep their
	// initial values: a new head ("head/") on a pretrained backbone.
	Missing []string
}

// Load reads a safetensors weights file (as written by scripts/h5convert or Trainer.SaveWeights) into
// params. It is strict: every parameter must be in the file (unless opts.Missing allows it), every
// tensor in the file must be a parameter, and shapes must agree; all problems are listed in one error.
// It returns the file's metadata.
func Load(path string, params *graph.Params, opts LoadOptions) (map[string]string, error) {
	tensors, meta, err := training.LoadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	// Load into a view holding only the parameters the file must provide.
	required := graph.NewParams()
	for _, p := range params.All() {
		if hasAnyPrefix(p.Name, opts.Missing) && !inFile(tensors, p.Name) {
			continue
		}
		if err := required.Add(p); err != nil {
			return nil, err
		}
	}
	if err := training.LoadParamTensors(required, tensors, ""); err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return meta, nil
}

func inFile(tensors []training.NamedTensor, name string) bool {
	for _, t := range tensors {
		if t.Name == name {
			return true
		}
	}
	return false
}

func hasAnyPrefix(name string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// FreezeAllBut freezes every parameter except those under the given name prefixes (e.g. "head/"), and
// returns how many it froze. Frozen parameters get no gradient nodes and no optimiser state, and frozen
// BatchNorm layers normalise with their moving statistics, as Keras does for trainable=False.
func FreezeAllBut(params *graph.Params, keep ...string) int {
	n := 0
	for _, p := range params.All() {
		if p.Trainable && !hasAnyPrefix(p.Name, keep) {
			p.Trainable = false
			n++
		}
	}
	return n
}

// trainableByDefault reports whether a parameter is one training updates when unfrozen: BatchNorm's
// moving statistics never are.
func trainableByDefault(name string) bool {
	return !strings.HasSuffix(name, "/moving_mean") && !strings.HasSuffix(name, "/moving_variance")
}

// UnfreezeAll makes every parameter trainable again (moving statistics stay non-trainable) and returns
// how many it changed.
func UnfreezeAll(params *graph.Params) int {
	n := 0
	for _, p := range params.All() {
		if !p.Trainable && trainableByDefault(p.Name) {
			p.Trainable = true
			n++
		}
	}
	return n
}

// Layers returns the layer names of params in creation order (the parameter names without their last
// component), excluding those under the given prefixes.
func Layers(params *graph.Params, exclude ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range params.All() {
		i := strings.LastIndexByte(p.Name, '/')
		if i < 0 || hasAnyPrefix(p.Name, exclude) {
			continue
		}
		if layer := p.Name[:i]; !seen[layer] {
			seen[layer] = true
			out = append(out, layer)
		}
	}
	return out
}

// UnfreezeTop makes the parameters of the last n layers of the backbone trainable (layers in creation
// order, excluding the given prefixes, e.g. the head), as Keras users do with base_model.layers[-n:],
// and returns the layers it unfroze.
func UnfreezeTop(params *graph.Params, n int, exclude ...string) ([]string, error) {
	layers := Layers(params, exclude...)
	if n < 0 || n > len(layers) {
		return nil, fmt.Errorf("unfreeze top %d layers: the backbone has %d", n, len(layers))
	}
	top := layers[len(layers)-n:]
	for _, layer := range top {
		for _, p := range params.All() {
			if strings.HasPrefix(p.Name, layer+"/") && strings.LastIndexByte(p.Name, '/') == len(layer) && trainableByDefault(p.Name) {
				p.Trainable = true
			}
		}
	}
	return top, nil
}

// errNoParams is returned when a model has not been built yet.
var errNoParams = errors.New("transfer: the parameter set is empty; build the model first")

// CheckBuilt returns an error when params is empty (weights must be loaded into a built model).
func CheckBuilt(params *graph.Params) error {
	if len(params.All()) == 0 {
		return errNoParams
	}
	return nil
}
