// Command resnet34 trains Keras-style ResNet-34 (BatchNorm, residual units, projection shortcuts; Géron's
// Hands-On ML, ch. 14) on Fashion-MNIST and reports its test accuracy; -h lists the flags.
package main

import (
	"fovea/arch"
	"fovea/graph"
	"fovea/scripts/internal/cli"
)

func main() {
	cli.FashionMain("resnet34", "Trains ResNet-34 (28×28×1 input, 10 classes) on Fashion-MNIST and writes metrics, history, curves and checkpoints.",
		func(graph.Initializer) arch.Model { return arch.ResNet34(1, 28, 28, 10) })
}
