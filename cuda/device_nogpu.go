//go:build !gpu

package cuda

// Available reports whether this build can run plans on a GPU.
const Available = false

func newGPU(*Plan) (Executor, error) { return nil, ErrNoCUDA }
