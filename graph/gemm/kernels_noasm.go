//go:build !amd64 || purego

package gemm

// kernels32 lists the float32 kernels usable on this machine, best first.
func kernels32() []*kernel[float32] { return []*kernel[float32]{genericKernel[float32]()} }

// kernels64 lists the float64 kernels usable on this machine, best first.
func kernels64() []*kernel[float64] { return []*kernel[float64]{genericKernel[float64]()} }
