//go:build !hostcuda

package cuda

import "errors"

// HostKernels reports whether this build can run plans with fovea.cu's kernels compiled for the host
// (device "hostcuda").
const HostKernels = false

func newHost(*Plan) (Executor, error) {
	return nil, errors.New("this build has no host-compiled kernels: build with -tags hostcuda (needs a C++ compiler)")
}
