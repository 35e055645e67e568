// Command h5convert converts Keras HDF5 ImageNet weights (a "notop" file) onto a fovea backbone and
// writes them as a fovea safetensors file:
//
//	go run ./scripts/h5convert -in squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5 -arch squeezenet -out squeezenet.safetensors
package main

import (
	"flag"
	"fmt"
	"os"

	"fovea/transfer"
	"fovea/transfer/keras"
)

func main() {
	in := flag.String("in", "", "Keras HDF5 weights file to read (model.save_weights or model.save layout), required")
	model := flag.String("arch", "", "fovea backbone the weights are for: xception or squeezenet, required")
	out := flag.String("out", "", "safetensors file to write (replaced atomically), required")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Converts Keras HDF5 weights without top onto a fovea backbone: kernels from Keras' HWIO to fovea's\n"+
			"OIHW (depthwise and separable kernels to fovea's layout), checking every weight's kind and shape, and\n"+
			"writes them with their source (file name, SHA-256, Keras version) as safetensors.\n\n"+
			"Usage: go run ./scripts/h5convert -in FILE.h5 -arch xception|squeezenet -out FILE.safetensors\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*in, *model, *out); err != nil {
		fmt.Fprintf(os.Stderr, "h5convert: %v\n", err)
		os.Exit(1)
	}
}

func run(in, model, out string) error {
	if in == "" || model == "" || out == "" || flag.NArg() > 0 {
		flag.Usage()
		return fmt.Errorf("-in, -arch and -out are required, and nothing else")
	}
	bb, err := transfer.NewBackbone(model, 0)
	if err != nil {
		return err
	}
	s, err := keras.ConvertFile(in, out, bb)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d layers, %d tensors, %d parameters converted onto %s → %s\n", in, s.Layers, s.Tensors, s.Values, s.Model, out)
	return nil
}
