package keras

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"fovea/graph"
	"fovea/training"
)

// ConverterVersion is recorded in the metadata of converted files; it changes when the conversion does.
const ConverterVersion = "1"

// Options configures Convert.
type Options struct {
	// Model names the architecture in the metadata ("squeezenet", "xception").
	Model string
	// Skip lists parameter-name prefixes that the file does not hold, such as a new classifier head
	// ("head/"): those parameters take no part in the matching and are not in the result.
	Skip []string
}

// MismatchError lists every way a file's weights fail to fit a model. It wraps ErrMismatch.
type MismatchError struct {
	Problems []string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%v: %d problems:\n  %s", ErrMismatch, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

func (e *MismatchError) Unwrap() error { return ErrMismatch }

// modelLayer is a fovea layer: the parameters that share a name scope ("block2_sepconv1/…"), which a
// fovea model creates together, in order.
type modelLayer struct {
	name   string
	params []*graph.Param
}

// Convert maps the weights of f onto params and returns them as float32 tensors in fovea's layout,
// named as the parameters and in their order, with metadata for the safetensors file (format, model,
// source file name and SHA-256, Keras version and backend, converter version). The result is what
// training.SaveCheckpoint writes and transfer.Load reads.
//
// fovea names parameters "<layer>/<weight>" and creates a layer's parameters together, so the model's
// layers are its parameter name scopes in creation order; the file's are its layers with weights.
// Layers are paired by name where the name is explicit (block2_sepconv1, fire2/squeeze1x1) and appears
// once on each side; the rest, which carry Keras' automatic names (conv2d_1, batch_normalization),
// are paired in order, because those names differ between Keras versions. Within a pair, each Keras
// weight goes to the parameter of the same kind (kernel, bias, …), converted to fovea's layout (see
// toFovea), and must then have the parameter's shape. Every problem is listed in one *MismatchError.
//
// A Dense kernel is kept as it is. Keras flattens feature maps in (h, w, c) order and fovea in (c, h, w)
// order, so a Dense layer right after a Flatten of feature maps would need its rows permuted, which
// shapes cannot reveal: Convert does not do it (backbones without top, the files fovea imports, have
// no such layer).
func Convert(f *File, params *graph.Params, opts Options) ([]training.NamedTensor, map[string]string, error) {
	model, err := modelLayers(params, opts.Skip)
	if err != nil {
		return nil, nil, fmt.Errorf("convert %s: %w", f.Path, err)
	}
	file := f.WeightLayers()
	pairs, extraFile, extraModel := pairLayers(file, model)
	var problems []string
	if len(file) != len(model) {
		problems = append(problems, fmt.Sprintf("the file has %d layers with weights, the model %d", len(file), len(model)))
	}
	converted := map[string]training.NamedTensor{}
	for _, p := range pairs {
		problems = append(problems, convertLayer(file[p[0]], model[p[1]], converted)...)
	}
	for _, i := range extraFile {
		problems = append(problems, fmt.Sprintf("file layer %q (%d weights) has no model layer to go to", file[i].Name, len(file[i].Weights)))
	}
	for _, j := range extraModel {
		problems = append(problems, fmt.Sprintf("model layer %q (%d parameters) has no weights in the file", model[j].name, len(model[j].params)))
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("convert %s: %w", f.Path, &MismatchError{Problems: problems})
	}
	var tensors []training.NamedTensor
	for _, l := range model {
		for _, p := range l.params {
			tensors = append(tensors, converted[p.Name])
		}
	}
	meta := map[string]string{
		"format":        "fovea.weights.v1",
		"source":        filepath.Base(f.Path),
		"source_sha256": f.SHA256,
		"keras_layout":  string(f.Layout),
		"converter":     "fovea/transfer/keras " + ConverterVersion,
	}
	for k, v := range map[string]string{"model": opts.Model, "keras_version": f.KerasVersion, "keras_backend": f.Backend} {
		if v != "" {
			meta[k] = v
		}
	}
	return tensors, meta, nil
}

// modelLayers groups the parameters not under a skipped prefix into layers by name scope.
func modelLayers(params *graph.Params, skip []string) ([]modelLayer, error) {
	var out []modelLayer
	seen := map[string]bool{}
	for _, p := range params.All() {
		if slices.ContainsFunc(skip, func(s string) bool { return strings.HasPrefix(p.Name, s) }) {
			continue
		}
		i := strings.LastIndexByte(p.Name, '/')
		if i <= 0 {
			return nil, fmt.Errorf("%w: parameter %q has no layer scope", ErrMismatch, p.Name)
		}
		layer := p.Name[:i]
		if n := len(out); n > 0 && out[n-1].name == layer {
			out[n-1].params = append(out[n-1].params, p)
			continue
		}
		if seen[layer] {
			return nil, fmt.Errorf("%w: the parameters of layer %q were not created together", ErrMismatch, layer)
		}
		seen[layer] = true
		out = append(out, modelLayer{name: layer, params: []*graph.Param{p}})
	}
	return out, nil
}

// automaticName reports whether name is one Keras makes up for an unnamed layer: the snake-case class
// name, with "_<n>" after the first (Keras 1 and 2.0 start at _1, tf.keras at the bare name).
func automaticName(name string) bool {
	base := name
	if i := strings.LastIndexByte(name, '_'); i > 0 && strings.Trim(name[i+1:], "0123456789") == "" && i+1 < len(name) {
		base = name[:i]
	}
	switch base {
	case "conv1d", "conv2d", "conv3d", "conv2d_transpose", "separable_conv1d", "separable_conv2d",
		"depthwise_conv2d", "dense", "batch_normalization", "layer_normalization", "embedding",
		"convolution2d", "batchnormalization", "separableconvolution2d": // Keras 1
		return true
	}
	return false
}

// pairLayers pairs file layers with model layers: by name where the name is explicit and unique on both
// sides, then the remaining layers of each side in order. It returns (file, model) index pairs in
// model order, and the layers of either side left without a partner.
func pairLayers(file []Layer, model []modelLayer) (pairs [][2]int, extraFile, extraModel []int) {
	count := map[string]int{}
	for _, l := range file {
		count["f"+l.Name]++
	}
	for _, l := range model {
		count["m"+l.name]++
	}
	fileAt := map[string]int{}
	for i, l := range file {
		fileAt[l.Name] = i
	}
	pairedFile := make([]bool, len(file))
	pairedModel := make([]bool, len(model))
	for j, l := range model {
		if !automaticName(l.name) && count["f"+l.name] == 1 && count["m"+l.name] == 1 {
			pairs = append(pairs, [2]int{fileAt[l.name], j})
			pairedFile[fileAt[l.name]], pairedModel[j] = true, true
		}
	}
	var restFile, restModel []int
	for i := range file {
		if !pairedFile[i] {
			restFile = append(restFile, i)
		}
	}
	for j := range model {
		if !pairedModel[j] {
			restModel = append(restModel, j)
		}
	}
	n := min(len(restFile), len(restModel))
	for k := range n {
		pairs = append(pairs, [2]int{restFile[k], restModel[k]})
	}
	slices.SortFunc(pairs, func(a, b [2]int) int { return a[1] - b[1] })
	return pairs, restFile[n:], restModel[n:]
}

// convertLayer converts the weights of file layer kl into tensors for the parameters of model layer ml,
// adding them to out by parameter name, and returns the problems it finds.
func convertLayer(kl Layer, ml modelLayer, out map[string]training.NamedTensor) []string {
	var problems []string
	where := fmt.Sprintf("file layer %q → model layer %q", kl.Name, ml.name)
	if kl.Name != ml.name {
		where += " (paired by order)"
	}
	byKind := map[string]*graph.Param{}
	for _, p := range ml.params {
		byKind[p.Name[len(ml.name)+1:]] = p
	}
	used := map[string]bool{}
	for _, w := range kl.Weights {
		kind := w.Kind()
		p, ok := byKind[kind]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: the model layer has no %s for weight %q %v", where, kind, w.Name, w.Shape))
			continue
		}
		if used[kind] {
			problems = append(problems, fmt.Sprintf("%s: two weights of kind %s", where, kind))
			continue
		}
		used[kind] = true
		shape, data, err := toFovea(kind, w.Shape, w.Data)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: weight %q: %v", where, w.Name, err))
			continue
		}
		if want := []int(p.Value.Shape()); !slices.Equal(shape, want) {
			problems = append(problems, fmt.Sprintf("%s: weight %q %v becomes %v, parameter %s is %v", where, w.Name, w.Shape, shape, p.Name, want))
			continue
		}
		out[p.Name] = training.NamedTensor{Name: p.Name, DType: "F32", Shape: shape, Data: data}
	}
	for _, p := range ml.params {
		if kind := p.Name[len(ml.name)+1:]; !used[kind] {
			problems = append(problems, fmt.Sprintf("%s: the file layer has no %s for parameter %s %v", where, kind, p.Name, p.Value.Shape()))
		}
	}
	return problems
}
