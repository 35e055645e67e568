package graph

import (
	"runtime"
	"sync"
	"unsafe"
)

// Exec holds what CPU kernels need while they run: a GEMM engine, the number of threads to split work
// over, and scratch memory reused from one kernel to the next. One Exec serves one program at a time; it
// is not safe for concurrent use.
type Exec struct {
	threads int
	gemm    gemmEngine
	scratch [scratchSlots]scratchBuf
	// run counts program runs; memoOn enables memos (see memo.go) for the current run.
	run    uint64
	memoOn bool
	memos  map[memoKey]*memoBuf
}

// scratchSlots is how many scratch buffers one kernel may hold at once.
const scratchSlots = 3

type scratchBuf struct {
	f32 []float32
	f64 []float64
}

// NewExec returns an execution context using threads worker threads (<= 0: GOMAXPROCS).
func NewExec(threads int) *Exec {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Exec{threads: threads, gemm: newGemmEngine(threads)}
}

// Threads is the number of threads kernels split their work over.
func (e *Exec) Threads() int { return e.threads }

// Close releases the GEMM engine's workers.
func (e *Exec) Close() {
	if e.gemm != nil {
		e.gemm.Close()
	}
}

// scratch returns a buffer of n elements from slot, growing it if needed. Its contents are undefined, and
// it is only valid until the next kernel asks for the same slot.
func scratch[T Float](e *Exec, slot, n int) []T {
	s := &e.scratch[slot]
	if n == 0 {
		return nil
	}
	if is32[T]() {
		if cap(s.f32) < n {
			s.f32 = make([]float32, n)
		}
		return unsafe.Slice((*T)(unsafe.Pointer(&s.f32[0])), n)
	}
	if cap(s.f64) < n {
		s.f64 = make([]float64, n)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&s.f64[0])), n)
}

// parallelFor splits [0, n) into contiguous chunks, one per thread, and runs body on each.
func (e *Exec) parallelFor(n int, body func(lo, hi int)) {
	workers := e.threads
	if workers > n {
		workers = n
	}
	if workers <= 1 {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := chunk; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	body(0, min(chunk, n))
	wg.Wait()
}
