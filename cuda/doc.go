// Package cuda runs fovea programs on NVIDIA GPUs through gorgonia.org/cu and cuBLAS.
//
// The files that call CUDA are behind the gpu build tag (go test -tags gpu), not cuda: with -tags cuda,
// gorgonia.org/gorgonia compiles its own GPU engine, which needs cuDNN. scripts/gpu builds them.
package cuda
