package cuda

import (
	"fmt"
	"math"
)

// slotValue encodes one kernel argument as the 8-byte parameter slot a launch passes: a pointer as the
// address address(ref) gives, a 32-bit int or float in the low 32 bits, 64-bit values whole. The GPU
// engine and the host-compiled kernels (Interpreter with a KernelFunc) both take this form.
func slotValue(t ParamType, a Arg, address func(Ref) uint64) (uint64, error) {
	switch t {
	case PtrF32, PtrI32, PtrI64, PtrF64:
		return address(a.Ref), nil
	case I32:
		return uint64(uint32(int32(a.Int))), nil
	case F32:
		return uint64(math.Float32bits(a.Float)), nil
	case F64:
		return math.Float64bits(a.Double), nil
	case U64:
		return a.U64, nil
	}
	return 0, fmt.Errorf("cuda: unknown parameter type %v", t)
}
