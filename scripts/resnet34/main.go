// Command resnet34 trains Keras-style ResNet-34 (BatchNorm, residual units, projection shortcuts; Géron's
// Hands-On ML, ch. 14) on Fashion-MNIST and reports its test accuracy; -h lists the flags.
package main

import (
	"fovea/arch"
	"fovea/graph"
	"fovea/scripts/internal/cli"
)

func main() {
	cli.FashionMainSized("resnet34", "Trains ResNet-34 (28×28×1 input unless -input-size, 10 classes) on Fashion-MNIST and writes metrics, history, curves and checkpoints.",
		func(_ graph.Initializer, side int) arch.Model { return arch.ResNet34(1, side, side, 10) })
}
