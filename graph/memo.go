package graph

import "unsafe"

// Within one run of a training program the same intermediate is needed twice: the zero-padded copy of a
// convolution's input that its im2col matrix is generated from (by the forward pass and again by the
// kernel gradient), the gathered output gradient (by both gradients), and a batch normalisation's input
// moments (by its forward pass, its statistics and both its gradients). A memo keeps such a buffer for
// the rest of the run, so later users skip the work. Buffers persist across runs (inputs live in fixed
// buffers, so keys repeat), bounding memory to one copy per kernel. Programs without gradients run with
// memos off.

// memoKey identifies an intermediate: what it is, which buffer it was computed from, and which part.
type memoKey struct {
	kind string
	src  uintptr
	geo  convGeometry
	part int
}

type memoBuf struct {
	run uint64
	f32 []float32
	f64 []float64
}

// memoFor returns key's buffer of n elements, and whether it already holds this run's value. When it
// does not, the caller must fill it.
func memoFor[T Float](e *Exec, key memoKey, n int) (buf []T, ready bool) {
	if e.memos == nil {
		e.memos = map[memoKey]*memoBuf{}
	}
	m, ok := e.memos[key]
	if !ok {
		m = &memoBuf{}
		e.memos[key] = m
	}
	ready = m.run == e.run
	m.run = e.run
	if n == 0 {
		return nil, ready
	}
	if is32[T]() {
		if len(m.f32) != n {
			m.f32, ready = make([]float32, n), false
		}
		return unsafe.Slice((*T)(unsafe.Pointer(&m.f32[0])), n), ready
	}
	if len(m.f64) != n {
		m.f64, ready = make([]float64, n), false
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&m.f64[0])), n), ready
}

// addressOf identifies a buffer by the address of its first element.
func addressOf[T Float](s []T) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s))) }
