//go:build hostcuda

package cuda

import "fovea/cuda/internal/hostcuda"

// HostKernels reports whether this build can run plans with fovea.cu's kernels compiled for the host
// (device "hostcuda").
const HostKernels = true

func newHost(p *Plan) (Executor, error) { return NewInterpreterWith(p, hostcuda.Launch) }
