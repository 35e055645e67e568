//go:build hostcuda

package cuda

import (
	"testing"

	"fovea/cuda/internal/hostcuda"
)

// TestHostKernels is TestEngineKernels with the CUDA C source compiled for the host in place of the
// GPU: every kernel the kernel cases launch, from fovea.cu itself, against its Go emulation.
func TestHostKernels(t *testing.T) {
	table := compareKernels(t, func(p *Plan) (Executor, error) { return NewInterpreterWith(p, hostcuda.Launch) })
	writeKernelTable(t, "host-kernels.txt", table)
}
