//go:build hostcuda

// Package hostcuda runs fovea's CUDA C kernels (cuda/kernels/fovea.cu) on the CPU: the same source,
// compiled as C++ with shim.h in place of the CUDA built-ins, each launch a small grid (3 blocks of 37
// threads) whose threads run one after another, each over its grid-stride share of the items. With
// the Go emulations as the reference
// (cuda.NewInterpreterWith(plan, hostcuda.Launch)), it checks the kernels' index math and float32
// rounding without a GPU; it cannot check what only a GPU has (many threads at once, its memory
// model, its exp and log). Build tag hostcuda; needs a C++ compiler (cgo).
package hostcuda

/*
#cgo CXXFLAGS: -std=c++17 -O2 -Wall -Wno-unused-function
#include <stdlib.h>
int fovea_host_launch(const char* name, long long n, const unsigned long long* slots);
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Launch runs the catalogue kernel name over items 0..n-1 with its arguments in 8-byte parameter
// slots (pointers as host addresses): a cuda.KernelFunc.
func Launch(name string, n int64, slots []uint64) error {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var s *C.ulonglong
	if len(slots) > 0 {
		s = (*C.ulonglong)(unsafe.Pointer(&slots[0]))
	}
	if C.fovea_host_launch(cname, C.longlong(n), s) != 0 {
		return fmt.Errorf("hostcuda: fovea.cu has no kernel %q", name)
	}
	return nil
}
