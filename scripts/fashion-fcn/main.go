// Command fashion-fcn trains a fully connected network (784-300-100-10) on Fashion-MNIST and reports its
// test accuracy; -h lists the flags.
package main

import (
	"fovea/arch"
	"fovea/graph"
	"fovea/scripts/internal/cli"
)

func main() {
	cli.FashionMain("fashion-fcn", "Trains a fully connected net (Flatten, Dense 300, Dense 100, Dense 10) on Fashion-MNIST and writes metrics, history, curves and checkpoints.",
		func(init graph.Initializer) arch.Model { return arch.FashionFCN{KernelInit: init} })
}
