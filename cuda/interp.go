package cuda

import (
	"fmt"
	"unsafe"

	"fovea/graph/gemm"

	"gorgonia.org/tensor"
)

// Interpreter runs a Plan on the CPU: device buffers are host memory, kernels run as their Go
// emulations (emulate.go) and GEMMs through fovea's CPU GEMM. It exists to test lowering and kernels
// without a GPU; it is not fast.
type Interpreter struct {
	plan    *Plan
	mem     [][]uint64 // one per buffer, 8-byte aligned
	gemm    *gemm.Engine
	args    Args
	kernels KernelFunc // nil: the Go emulations
	slots   []uint64
}

// KernelFunc runs catalogue kernel name over items 0..n-1 with its arguments in 8-byte parameter
// slots, pointers as host addresses: the form of a GPU launch, for kernels compiled for the host
// (cuda/internal/hostcuda) in place of the Go emulations.
type KernelFunc func(name string, n int64, slots []uint64) error

// NewInterpreter allocates the plan's buffers (zeroed) and runs its Init launches.
func NewInterpreter(p *Plan) (*Interpreter, error) { return NewInterpreterWith(p, nil) }

// NewInterpreterWith is NewInterpreter with kernels run by run instead of their Go emulations (GEMMs
// still run on fovea's CPU GEMM).
func NewInterpreterWith(p *Plan, run KernelFunc) (*Interpreter, error) {
	in := &Interpreter{plan: p, gemm: gemm.New(1), kernels: run}
	for _, b := range p.Buffers {
		in.mem = append(in.mem, make([]uint64, (b.Bytes+7)/8))
	}
	for i := range p.Init {
		if err := in.launch(&p.Init[i]); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// Close releases the GEMM engine's workers.
func (in *Interpreter) Close() { in.gemm.Close() }

// bytesAt returns the buffer bytes from r to the end of its buffer.
func (in *Interpreter) bytesAt(r Ref) []byte {
	m := in.mem[r.Buf]
	all := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(m))), 8*len(m))
	return all[r.Off:]
}

func view[T any](b []byte) []T {
	var zero T
	n := len(b) / int(unsafe.Sizeof(zero))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// hostBytes returns a host tensor's memory as bytes (float32, int32 and int64 tensors; nil otherwise).
func hostBytes(t *tensor.Dense) []byte {
	switch t.Dtype() {
	case tensor.Float32:
		return asBytes(t.Float32s())
	case tensor.Int32:
		return asBytes(t.Int32s())
	case tensor.Int64:
		return asBytes(t.Int64s())
	}
	return nil
}

func asBytes[T any](s []T) []byte {
	var zero T
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(zero)))
}

// Upload copies a host tensor of the program to its device place.
func (in *Interpreter) Upload(t *tensor.Dense) error {
	r, ok := in.plan.Place(t)
	if !ok {
		return fmt.Errorf("upload: tensor %v is not part of the plan", t.Shape())
	}
	copy(in.bytesAt(r), hostBytes(t))
	return nil
}

// Download copies a tensor's device value to its host memory.
func (in *Interpreter) Download(t *tensor.Dense) error {
	r, ok := in.plan.Place(t)
	if !ok {
		return fmt.Errorf("download: tensor %v is not part of the plan", t.Shape())
	}
	copy(hostBytes(t), in.bytesAt(r))
	return nil
}

// Run executes the plan's launches once.
func (in *Interpreter) Run() error {
	for i := range in.plan.Launches {
		if err := in.launch(&in.plan.Launches[i]); err != nil {
			return err
		}
	}
	return nil
}

// RunLaunch executes launch i of the plan alone (to compare devices launch by launch).
func (in *Interpreter) RunLaunch(i int) error { return in.launch(&in.plan.Launches[i]) }

// Buffer returns a copy of device buffer i.
func (in *Interpreter) Buffer(i int) ([]byte, error) {
	return append([]byte(nil), in.bytesAt(Ref{Buf: i})[:in.plan.Buffers[i].Bytes]...), nil
}

// SetBuffer overwrites device buffer i with b (at most the buffer's size).
func (in *Interpreter) SetBuffer(i int, b []byte) error {
	copy(in.bytesAt(Ref{Buf: i})[:in.plan.Buffers[i].Bytes], b)
	return nil
}

// SetArgs changes arguments first, first+1, … of launch i.
func (in *Interpreter) SetArgs(i, first int, args []Arg) error {
	l := &in.plan.Launches[i]
	if first < 0 || first+len(args) > len(l.Args) {
		return fmt.Errorf("launch %d (%s) has %d arguments, not %d from %d", i, l.Kernel, len(l.Args), len(args), first)
	}
	copy(l.Args[first:], args)
	return nil
}

func (in *Interpreter) launch(l *Launch) error {
	if l.Kernel == "gemm" {
		g := l.Gemm
		if err := in.gemm.Sgemm(g.TransA, g.TransB, g.M, g.N, g.K, g.Alpha, view[float32](in.bytesAt(g.A)), g.LDA,
			view[float32](in.bytesAt(g.B)), g.LDB, g.Beta, view[float32](in.bytesAt(g.C)), g.LDC); err != nil {
			return fmt.Errorf("%s: gemm: %w", l.Step, err)
		}
		return nil
	}
	spec, ok := Spec(l.Kernel)
	if !ok {
		return fmt.Errorf("%s: kernel %q is not in the catalogue", l.Step, l.Kernel)
	}
	emulate, ok := emulations[l.Kernel]
	if !ok {
		return fmt.Errorf("%s: kernel %q has no emulation", l.Step, l.Kernel)
	}
	if len(l.Args) != len(spec.Params) {
		return fmt.Errorf("%s: kernel %s takes %d arguments after n, launch has %d", l.Step, l.Kernel, len(spec.Params), len(l.Args))
	}
	if in.kernels != nil {
		return in.launchSlots(l, spec)
	}
	a := in.resolve(spec, l.Args)
	emulate(int(l.N), a)
	return nil
}

// launchSlots runs l through in.kernels, its pointers as addresses of the interpreter's memory (which
// the Go garbage collector neither moves nor frees while the interpreter lives).
func (in *Interpreter) launchSlots(l *Launch, spec KernelSpec) error {
	address := func(r Ref) uint64 {
		if r.Buf < 0 {
			return 0
		}
		return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(in.mem[r.Buf])))) + uint64(r.Off)
	}
	in.slots = in.slots[:0]
	for i, p := range spec.Params {
		v, err := slotValue(p.Type, l.Args[i], address)
		if err != nil {
			return fmt.Errorf("%s: %w", l.Step, err)
		}
		in.slots = append(in.slots, v)
	}
	if err := in.kernels(l.Kernel, l.N, in.slots); err != nil {
		return fmt.Errorf("%s: %w", l.Step, err)
	}
	return nil
}

// resolve turns launch arguments into the typed views an emulation reads.
func (in *Interpreter) resolve(spec KernelSpec, args []Arg) *Args {
	n := len(spec.Params)
	a := &in.args
	a.F32, a.I32, a.I64, a.F64 = resize(a.F32, n), resize(a.I32, n), resize(a.I64, n), resize(a.F64, n)
	a.Int, a.Float, a.Double, a.U64 = resize(a.Int, n), resize(a.Float, n), resize(a.Double, n), resize(a.U64, n)
	for i, param := range spec.Params {
		arg := args[i]
		switch param.Type {
		case PtrF32, PtrI32, PtrI64, PtrF64:
			if arg.Ref.Buf < 0 {
				continue
			}
			b := in.bytesAt(arg.Ref)
			switch param.Type {
			case PtrF32:
				a.F32[i] = view[float32](b)
			case PtrI32:
				a.I32[i] = view[int32](b)
			case PtrF64:
				a.F64[i] = view[float64](b)
			default:
				a.I64[i] = view[int64](b)
			}
		case I32:
			a.Int[i] = int(arg.Int)
		case F32:
			a.Float[i] = arg.Float
		case F64:
			a.Double[i] = arg.Double
		case U64:
			a.U64[i] = arg.U64
		}
	}
	return a
}

// resize returns s with length n and every element zeroed.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}
