package graph

import (
	"reflect"
	"runtime"
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
	// jobs holds one reusable job per kernel kind (see jobOf); workers run their parts of it.
	jobs    map[reflect.Type]any
	workers []chan span
	done    chan struct{}
}

// Task is work over the index range [lo, hi) that an Exec splits across threads. Kernels describe their
// work as a job struct (its fields are the kernel's arguments) implementing Task, kept in the Exec by
// jobOf, so that splitting work allocates nothing in steady state.
type Task interface{ Run(lo, hi int) }

// span is one worker's share of a task.
type span struct {
	t      Task
	lo, hi int
}

// jobOf returns the Exec's job of type J, creating it on first use.
func jobOf[J any](e *Exec) *J {
	key := reflect.TypeFor[J]()
	if j, ok := e.jobs[key].(*J); ok {
		return j
	}
	if e.jobs == nil {
		e.jobs = map[reflect.Type]any{}
	}
	j := new(J)
	e.jobs[key] = j
	return j
}

// scratchSlots is how many scratch buffers one kernel may hold at once.
const scratchSlots = 6

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

// Close stops the Exec's worker goroutines and the GEMM engine's; the Exec must not run kernels after.
func (e *Exec) Close() {
	if e.gemm != nil {
		e.gemm.Close()
	}
	for _, w := range e.workers {
		close(w)
	}
	e.workers = nil
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

// parallel splits [0, n) into contiguous chunks, one per thread: the calling goroutine runs the first,
// persistent workers (started on first use) the others.
func (e *Exec) parallel(n int, t Task) {
	parts := min(e.threads, n)
	if parts <= 1 {
		t.Run(0, n)
		return
	}
	if e.workers == nil {
		e.done = make(chan struct{}, e.threads)
		for range e.threads - 1 {
			w := make(chan span, 1)
			e.workers = append(e.workers, w)
			go func() {
				for s := range w {
					s.t.Run(s.lo, s.hi)
					e.done <- struct{}{}
				}
			}()
		}
	}
	chunk := (n + parts - 1) / parts
	sent := 0
	for lo := chunk; lo < n; lo += chunk {
		e.workers[sent] <- span{t: t, lo: lo, hi: min(lo+chunk, n)}
		sent++
	}
	t.Run(0, chunk)
	for range sent {
		<-e.done
	}
}

// Split runs t over [0, n) split across the Exec's threads (for work outside kernels, such as optimiser
// updates). Passing a pointer to a long-lived Task keeps it allocation-free.
func (e *Exec) Split(n int, t Task) { e.parallel(n, t) }
