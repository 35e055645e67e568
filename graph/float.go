package graph

import (
	"fmt"
	"unsafe"

	"gorgonia.org/tensor"
)

// Float is the element type of fovea's kernels: float32 for training, float64 for gradient checks.
type Float interface{ ~float32 | ~float64 }

// floats reinterprets the storage of a dense tensor as a []T without copying or allocating. The caller
// must have checked that the tensor's dtype matches T.
func floats[T Float](d *tensor.Dense) []T {
	raw := d.Raw
	if len(raw) == 0 {
		return nil
	}
	var zero T
	return unsafe.Slice((*T)(unsafe.Pointer(&raw[0])), len(raw)/int(unsafe.Sizeof(zero)))
}

// int32s reinterprets the storage of an Int32 tensor.
func int32s(d *tensor.Dense) []int32 {
	raw := d.Raw
	if len(raw) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&raw[0])), len(raw)/4)
}

// int64s reinterprets the storage of an Int64 tensor.
func int64s(d *tensor.Dense) []int64 {
	raw := d.Raw
	if len(raw) == 0 {
		return nil
	}
	return unsafe.Slice((*int64)(unsafe.Pointer(&raw[0])), len(raw)/8)
}

// checkFloat reports an error unless dt is one of the float types fovea's kernels support.
func checkFloat(dt tensor.Dtype) error {
	if dt != tensor.Float32 && dt != tensor.Float64 {
		return fmt.Errorf("%w: %v (want float32 or float64)", ErrDtype, dt)
	}
	return nil
}

// is32 reports whether T is a 4-byte float.
func is32[T Float]() bool {
	var zero T
	return unsafe.Sizeof(zero) == 4
}

// cast reinterprets a slice of one float type as another of the same size, without copying.
func cast[U, T Float](s []T) []U {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*U)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}
