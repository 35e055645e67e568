// Command fashion-cnn trains Géron's Fashion-MNIST CNN (Hands-On ML, chapter 14) and reports its test
// accuracy; -h lists the flags.
package main

import (
	"fovea/arch"
	"fovea/graph"
	"fovea/scripts/internal/cli"
)

func main() {
	cli.FashionMain("fashion-cnn", "Trains the book's CNN on Fashion-MNIST and writes metrics, history, curves and checkpoints.",
		func(init graph.Initializer) arch.Model { return arch.FashionCNN{KernelInit: init} })
}
