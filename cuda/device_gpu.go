//go:build gpu

package cuda

// Available reports whether this build can run plans on a GPU.
const Available = true

func newGPU(p *Plan) (Executor, error) { return NewEngine(p) }
