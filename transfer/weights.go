package transfer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"fovea/arch"
	"fovea/data"
	"fovea/transfer/keras"
)

// WeightSource is where a backbone's pretrained Keras weights come from: the official file, its
// checksums, and the architecture it fits (whose Preprocessing says how inputs must be normalised).
type WeightSource struct {
	Backbone string
	File     data.File
	Note     string
}

// WeightSources is the table of pretrained backbones fovea can download. Checksums are the ones the
// publishers' loaders verify (Keras checks Xception's MD5); SqueezeNet's were measured on the file
// published with the Keras port (rcmalli/keras-squeezenet, MIT licence).
func WeightSources() []WeightSource {
	return []WeightSource{
		{Backbone: "xception", Note: "Keras applications, ImageNet, include_top=False", File: data.File{
			Name:   "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
			URL:    "https://storage.googleapis.com/tensorflow/keras-applications/xception/xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
			MD5:    "b0042744bf5b25fce3cb969f33bebb97",
			SHA256: "e3fa32521ed48ced4af05adc950ab24963c4a00bd42e6825f8b180c65853163c",
			Size:   83683744,
		}},
		{Backbone: "squeezenet", Note: "SqueezeNet v1.1 Keras port, ImageNet, include_top=False", File: data.File{
			Name:   "squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5",
			URL:    "https://github.com/rcmalli/keras-squeezenet/releases/download/v1.0/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5",
			MD5:    "17c944bfcc0e04c6661806fb3a994a4a",
			SHA256: "2d935d8c102ad1232484a77da8e6fbdf3ff4ab608974a0d8b6283115ffff204f",
			Size:   3032184,
		}},
	}
}

// weightsFolder is where downloaded and converted weight files live under the data root.
const weightsFolder = "keras-weights"

// NewBackbone returns the backbone with the given name for size×size inputs.
func NewBackbone(name string, size int) (arch.Backbone, error) {
	switch name {
	case "xception":
		return arch.Xception{Height: size, Width: size}, nil
	case "squeezenet":
		return arch.SqueezeNet{Height: size, Width: size}, nil
	}
	return nil, fmt.Errorf("unknown backbone %q (want xception or squeezenet)", name)
}

// PretrainedWeights returns a fovea safetensors file of the backbone's official pretrained weights: it
// downloads the Keras HDF5 file into root/keras-weights if needed (checksum verified, atomic), and
// converts it once (transfer/keras) into the user cache directory (fovea/converted/), where later runs
// find it.
func PretrainedWeights(ctx context.Context, root, backbone string, opts data.FetchOptions) (string, error) {
	var src *WeightSource
	for _, s := range WeightSources() {
		if s.Backbone == backbone {
			src = &s
			break
		}
	}
	if src == nil {
		return "", fmt.Errorf("no pretrained weights known for backbone %q", backbone)
	}
	spec := data.Spec{Name: backbone + "-weights", Folder: weightsFolder, Files: []data.File{src.File}}
	if err := data.Ensure(ctx, root, spec, opts); err != nil {
		return "", fmt.Errorf("pretrained %s weights: %w", backbone, err)
	}
	h5 := filepath.Join(root, weightsFolder, src.File.Name)
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("pretrained %s weights: no cache directory for the converted file: %w", backbone, err)
	}
	dir := filepath.Join(cache, "fovea", "converted")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, fmt.Sprintf("%s-%s.safetensors", backbone, src.File.SHA256[:12]))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	bb, err := NewBackbone(backbone, 224)
	if err != nil {
		return "", err
	}
	if _, err := keras.ConvertFile(h5, out, bb); err != nil {
		return "", err
	}
	return out, nil
}
