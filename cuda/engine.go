//go:build gpu

package cuda

import (
	"fmt"
	"runtime"
	"unsafe"

	_ "fovea/cuda/internal/driverprobe" // a clear message, before gorgonia.org/cu exits, when no GPU is usable
	"fovea/cuda/kernels"

	gblas "gonum.org/v1/gonum/blas"
	"gorgonia.org/cu"
	blas "gorgonia.org/cu/blas"
	"gorgonia.org/tensor"
)

// blockSize is the threads per block of every catalogue kernel launch; grids are capped at maxBlocks
// (the kernels loop over the rest).
const (
	blockSize = 256
	maxBlocks = 1 << 16
)

// Engine executes a Plan on GPU 0: the plan's buffers live in device memory, its kernels come from
// fovea's PTX (kernels.PTX), its GEMMs from cuBLAS. Only the tensors a caller uploads and downloads
// cross the bus. An Engine is used from one goroutine at a time.
type Engine struct {
	plan     *Plan
	ctx      cu.CUContext
	module   cu.Module
	blas     *blas.Standard
	gemm     *cublasHandle // the plan's GEMMs, when Plan.TF32 or Plan.Graphs
	graph    *stepGraph    // when Plan.Graphs
	buffers  []cu.DevicePtr
	launches []deviceLaunch
	init     []deviceLaunch
	device   string
	// multiprocessors is the GPU's SM count (for OneWave kernels' grids).
	multiprocessors int
}

// deviceLaunch is a launch resolved against device addresses: the kernel function and its
// parameter values (8-byte slots, as gorgonia.org/cu copies them), or a GEMM.
type deviceLaunch struct {
	step   string
	kernel string
	fn     cu.Function
	grid   int
	types  []ParamType // of the parameters after n
	values []uint64
	params []unsafe.Pointer
	gemm   *Gemm
}

// NewEngine creates a context on GPU 0, loads fovea's kernels, allocates the plan's buffers and runs
// its Init launches. Out-of-memory errors name the buffer and its size.
func NewEngine(p *Plan) (*Engine, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("cuda: counting devices: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("cuda: no CUDA device found")
	}
	dev, err := cu.GetDevice(0)
	if err != nil {
		return nil, fmt.Errorf("cuda: device 0: %w", err)
	}
	e := &Engine{plan: p}
	if e.device, err = dev.Name(); err != nil {
		return nil, fmt.Errorf("cuda: device name: %w", err)
	}
	if e.multiprocessors, err = dev.Attribute(cu.MultiprocessorCount); err != nil {
		return nil, fmt.Errorf("cuda: multiprocessor count of %s: %w", e.device, err)
	}
	if e.ctx, err = dev.MakeContext(cu.SchedAuto); err != nil {
		return nil, fmt.Errorf("cuda: creating a context on %s: %w", e.device, err)
	}
	if e.module, err = cu.LoadData(kernels.PTX); err != nil {
		e.Close()
		return nil, fmt.Errorf("cuda: loading fovea's kernels (PTX JIT) on %s: %w", e.device, err)
	}
	e.blas = blas.New()
	if p.Graphs {
		if e.graph, err = newStepGraph(); err != nil {
			e.Close()
			return nil, err
		}
	}
	if p.TF32 || p.Graphs {
		var stream *cu.Stream
		var ws cu.DevicePtr
		var wsBytes int64
		if e.graph != nil {
			stream, ws, wsBytes = &e.graph.stream, e.graph.workspace, gemmWorkspaceBytes
		}
		if e.gemm, err = newCublasHandle(p.TF32, stream, ws, wsBytes); err != nil {
			e.Close()
			return nil, err
		}
	}
	for _, b := range p.Buffers {
		ptr, err := cu.MemAlloc(max(b.Bytes, 4))
		if err != nil {
			free, total, _ := cu.MemInfo()
			e.Close()
			return nil, fmt.Errorf("cuda: out of device memory? allocating %s (%.1f MB) failed on %s with %.0f of %.0f MB free: %w",
				b.Name, float64(b.Bytes)/1e6, e.device, float64(free)/1e6, float64(total)/1e6, err)
		}
		e.buffers = append(e.buffers, ptr)
	}
	if e.init, err = e.resolve(p.Init); err == nil {
		e.launches, err = e.resolve(p.Launches)
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	if err := e.runLocked(e.init); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Device names the GPU.
func (e *Engine) Device() string { return e.device }

// address returns the device address of a Ref (0 for Null).
func (e *Engine) address(r Ref) uint64 {
	if r.Buf < 0 {
		return 0
	}
	return uint64(e.buffers[r.Buf]) + uint64(r.Off)
}

func (e *Engine) resolve(ls []Launch) ([]deviceLaunch, error) {
	out := make([]deviceLaunch, len(ls))
	for i := range ls {
		l := &ls[i]
		d := &out[i]
		d.step, d.kernel = l.Step, l.Kernel
		if l.Kernel == "gemm" {
			d.gemm = l.Gemm
			continue
		}
		spec, ok := Spec(l.Kernel)
		if !ok || len(l.Args) != len(spec.Params) {
			return nil, fmt.Errorf("cuda: %s: launch of %q does not match the kernel catalogue", l.Step, l.Kernel)
		}
		fn, err := e.module.Function(l.Kernel)
		if err != nil {
			return nil, fmt.Errorf("cuda: kernel %q is missing from the PTX: %w", l.Kernel, err)
		}
		d.fn = fn
		d.grid = int(min((l.N+blockSize-1)/blockSize, maxBlocks))
		if spec.OneWave {
			perSM, err := fn.MaxActiveBlocksPerMultiProcessor(blockSize, 0)
			if err != nil {
				return nil, fmt.Errorf("cuda: occupancy of %q: %w", l.Kernel, err)
			}
			d.grid = min(d.grid, max(1, e.multiprocessors*perSM))
		}
		d.types = make([]ParamType, len(spec.Params))
		d.values = make([]uint64, 1+len(spec.Params))
		d.values[0] = uint64(l.N)
		for j, param := range spec.Params {
			d.types[j] = param.Type
			v, err := e.argValue(param.Type, l.Args[j])
			if err != nil {
				return nil, err
			}
			d.values[1+j] = v
		}
		d.params = make([]unsafe.Pointer, len(d.values))
		for j := range d.values {
			d.params[j] = unsafe.Pointer(&d.values[j])
		}
	}
	return out, nil
}

// argValue is an argument's 8-byte parameter slot.
func (e *Engine) argValue(t ParamType, a Arg) (uint64, error) {
	return slotValue(t, a, e.address)
}

// Upload copies a host tensor of the program to the device.
func (e *Engine) Upload(t *tensor.Dense) error {
	r, ok := e.plan.Place(t)
	if !ok {
		return fmt.Errorf("cuda: upload: tensor %v is not part of the plan", t.Shape())
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(e.ctx); err != nil {
		return err
	}
	if err := cu.MemcpyHtoD(cu.DevicePtr(e.address(r)), unsafe.Pointer(unsafe.SliceData(hostBytes(t))), int64(t.MemSize())); err != nil {
		return fmt.Errorf("cuda: upload %v: %w", t.Shape(), err)
	}
	return nil
}

// Download copies a tensor's device value to its host memory (waiting for the device).
func (e *Engine) Download(t *tensor.Dense) error {
	r, ok := e.plan.Place(t)
	if !ok {
		return fmt.Errorf("cuda: download: tensor %v is not part of the plan", t.Shape())
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(e.ctx); err != nil {
		return err
	}
	if err := cu.MemcpyDtoH(unsafe.Pointer(unsafe.SliceData(hostBytes(t))), cu.DevicePtr(e.address(r)), int64(t.MemSize())); err != nil {
		return fmt.Errorf("cuda: download %v: %w", t.Shape(), err)
	}
	return nil
}

// Run launches the plan once and waits for it to finish; a kernel failure is reported with the step
// that launched it when the launch itself fails, and otherwise at the synchronisation.
func (e *Engine) Run() error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if e.graph != nil {
		if err := cu.SetCurrentContext(e.ctx); err != nil {
			return err
		}
		return e.graph.run(e)
	}
	return e.runLocked(e.launches)
}

// runLocked issues ls and waits for them.
func (e *Engine) runLocked(ls []deviceLaunch) error {
	if err := cu.SetCurrentContext(e.ctx); err != nil {
		return err
	}
	if err := e.issue(ls, nil); err != nil {
		return err
	}
	if err := cu.Synchronize(); err != nil {
		return fmt.Errorf("cuda: kernel failure: %w", err)
	}
	return nil
}

// issue launches ls in order on the engine's stream (the graph's, else the legacy default stream),
// calling after(i), when given, after each kernel launch ls[i].
func (e *Engine) issue(ls []deviceLaunch, after func(i int) error) error {
	stream := cu.NoStream
	if e.graph != nil {
		stream = e.graph.stream
	}
	for i := range ls {
		d := &ls[i]
		if d.gemm != nil {
			if err := e.sgemm(d.gemm); err != nil {
				return fmt.Errorf("cuda: %s: gemm: %w", d.step, err)
			}
			continue
		}
		if err := d.fn.Launch(d.grid, 1, 1, blockSize, 1, 1, 0, stream, d.params); err != nil {
			return fmt.Errorf("cuda: %s: launching %s: %w", d.step, d.kernel, err)
		}
		if after != nil {
			if err := after(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// RunLaunch runs launch i of the plan alone and waits for it.
func (e *Engine) RunLaunch(i int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return e.runLocked(e.launches[i : i+1])
}

// Buffer returns a copy of device buffer i.
func (e *Engine) Buffer(i int) ([]byte, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(e.ctx); err != nil {
		return nil, err
	}
	b := make([]byte, max(e.plan.Buffers[i].Bytes, 1))
	if err := cu.MemcpyDtoH(unsafe.Pointer(&b[0]), e.buffers[i], e.plan.Buffers[i].Bytes); err != nil {
		return nil, fmt.Errorf("cuda: reading buffer %s: %w", e.plan.Buffers[i].Name, err)
	}
	return b[:e.plan.Buffers[i].Bytes], nil
}

// SetBuffer overwrites device buffer i with b (at most the buffer's size).
func (e *Engine) SetBuffer(i int, b []byte) error {
	n := min(int64(len(b)), e.plan.Buffers[i].Bytes)
	if n == 0 {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(e.ctx); err != nil {
		return err
	}
	if err := cu.MemcpyHtoD(e.buffers[i], unsafe.Pointer(&b[0]), n); err != nil {
		return fmt.Errorf("cuda: writing buffer %s: %w", e.plan.Buffers[i].Name, err)
	}
	return nil
}

// SetArgs changes arguments first, first+1, … of launch i for the following runs.
func (e *Engine) SetArgs(i, first int, args []Arg) error {
	d := &e.launches[i]
	if d.gemm != nil || first < 0 || first+len(args) > len(d.types) {
		return fmt.Errorf("cuda: launch %d (%s) has %d arguments, not %d from %d", i, d.kernel, len(d.types), len(args), first)
	}
	for j, a := range args {
		v, err := e.argValue(d.types[first+j], a)
		if err != nil {
			return err
		}
		d.values[1+first+j] = v
	}
	if e.graph == nil {
		return nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cu.SetCurrentContext(e.ctx); err != nil {
		return err
	}
	return e.graph.setArgs(i, d.values)
}

// deviceSlice presents a device address as a one-element slice, the form gorgonia.org/cu/blas takes
// (it passes &s[0] to cuBLAS). The memory is never touched from Go.
func deviceSlice(addr uint64) []float32 {
	// A slice header built by hand: the address is not Go memory, so the garbage collector ignores it.
	h := struct {
		data     uintptr
		len, cap int
	}{uintptr(addr), 1, 1}
	return *(*[]float32)(unsafe.Pointer(&h))
}

// sgemm runs a row-major GEMM on cuBLAS, which is column-major: Cᵀ = op(B)ᵀ·op(A)ᵀ.
func (e *Engine) sgemm(g *Gemm) error {
	if e.gemm != nil {
		return e.gemm.sgemm(e, g)
	}
	ta, tb := gblas.NoTrans, gblas.NoTrans
	if g.TransA {
		ta = gblas.Trans
	}
	if g.TransB {
		tb = gblas.Trans
	}
	e.blas.Sgemm(tb, ta, g.N, g.M, g.K, g.Alpha, deviceSlice(e.address(g.B)), g.LDB, deviceSlice(e.address(g.A)), g.LDA, g.Beta, deviceSlice(e.address(g.C)), g.LDC)
	return e.blas.Err()
}

// Close frees the device memory, the cuBLAS handle and the context.
func (e *Engine) Close() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = cu.SetCurrentContext(e.ctx)
	for _, b := range e.buffers {
		_ = cu.MemFree(b)
	}
	e.buffers = nil
	if e.blas != nil {
		_ = e.blas.Close()
		e.blas = nil
	}
	if e.gemm != nil {
		e.gemm.close()
		e.gemm = nil
	}
	if e.graph != nil {
		e.graph.close()
		e.graph = nil
	}
	_ = e.ctx.Destroy()
}
