//go:build gpu

// Package driverprobe checks, before gorgonia.org/cu initialises, that the CUDA driver finds a GPU. cu's
// own init exits the process when cuInit fails, with a terse message and before any of fovea's code
// runs; this package is initialised first (it sorts before gorgonia.org/cu and needs nothing cu does not),
// so a gpu build on a machine without a usable GPU says what happened and what to run instead.
package driverprobe

// #cgo LDFLAGS: -lcuda
// #include <cuda.h>
import "C"

import (
	"fmt"
	"os"
)

func init() {
	r := C.cuInit(0)
	if r == C.CUDA_SUCCESS {
		return
	}
	name := "unknown error"
	var s *C.char
	if C.cuGetErrorName(r, &s) == C.CUDA_SUCCESS && s != nil {
		name = C.GoString(s)
	}
	fmt.Fprintf(os.Stderr, "fovea: this program was built with -tags gpu, but the CUDA driver finds no usable GPU "+
		"(cuInit: %s, code %d). Check nvidia-smi and CUDA_VISIBLE_DEVICES, or run a build without -tags gpu, "+
		"which trains on the CPU (go run ./scripts/...).\n", name, int(r))
	os.Exit(1)
}
