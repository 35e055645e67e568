package gemm

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// minParallelFlops is the smallest multiply (in 2·m·n·k flops) that is split
// across threads; below it the fan-out costs more than it saves.
const minParallelFlops = 1 << 18

// donePoll and workerPoll are how long the caller polls for the last worker
// to finish, and an idle worker for the next call, before parking.
const (
	donePoll   = 100 * time.Microsecond
	workerPoll = 200 * time.Microsecond
)

// Engine multiplies matrices. It owns the packing buffers and the worker
// goroutines; reuse one per executor. An Engine is not safe for concurrent
// use.
type Engine struct {
	s *state
}

// state is the part of an Engine the workers see, so that an unreachable
// Engine can be cleaned up while its workers still run.
type state struct {
	threads int
	k32     *kernel[float32]
	k64     *kernel[float64]
	ws32    []workspace[float32]
	ws64    []workspace[float64]
	spans   []span

	// The current call, written before the parts are handed out.
	is64 bool
	p32  problem[float32]
	p64  problem[float64]

	// Parts are claimed, by the caller and by whichever workers are awake,
	// through claim: the part count in the high 32 bits, the next unclaimed
	// part in the low 32. Claims past the count are harmless no-ops, so a
	// worker that wakes late, even after the call has returned, does nothing
	// unless a new call has been published.
	claim    atomic.Uint64
	left     atomic.Int64  // parts of the current call not yet finished
	done     chan struct{} // a worker that finishes the last part signals here
	wake     chan struct{} // nudges idle workers to look for parts
	stopOnce sync.Once
	closed   bool
}

// span is one part's strip of C.
type span struct{ m0, m1, n0, n1 int }

// New returns an Engine using threads goroutines (the caller's plus
// threads-1 workers) and the fastest micro-kernels this CPU supports.
// threads <= 0 means runtime.GOMAXPROCS(0).
func New(threads int) *Engine {
	return newEngine(threads, kernels32()[0], kernels64()[0])
}

// NewWithKernel is like New but uses the named float32 micro-kernel, one of
// Kernels(); it is meant for benchmarks and tests.
func NewWithKernel(threads int, name string) (*Engine, error) {
	for _, k := range kernels32() {
		if k.name == name {
			return newEngine(threads, k, kernels64()[0]), nil
		}
	}
	return nil, fmt.Errorf("gemm: kernel %q not available (have %v)", name, Kernels())
}

// Kernels lists the float32 micro-kernels usable on this machine, best first.
func Kernels() []string {
	var names []string
	for _, k := range kernels32() {
		names = append(names, k.name)
	}
	return names
}

func newEngine(threads int, k32 *kernel[float32], k64 *kernel[float64]) *Engine {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	s := &state{
		threads: threads,
		k32:     k32,
		k64:     k64,
		ws32:    make([]workspace[float32], threads),
		ws64:    make([]workspace[float64], threads),
		spans:   make([]span, threads),
	}
	e := &Engine{s: s}
	if threads > 1 {
		s.wake = make(chan struct{}, threads-1)
		s.done = make(chan struct{}, 1)
		for range threads - 1 {
			go s.worker()
		}
		runtime.AddCleanup(e, (*state).stop, s)
	}
	return e
}

// Close stops the worker goroutines. The Engine stays usable afterwards but
// runs every call on the calling goroutine alone.
func (e *Engine) Close() {
	e.s.stop()
	e.s.closed = true
}

// Kernel names the float32 micro-kernel in use, e.g. "avx512-12x32" or
// "generic-4x4".
func (e *Engine) Kernel() string { return e.s.k32.name }

// Sgemm computes C = alpha*op(A)*op(B) + beta*C in float32, where op(X) is X
// or Xᵀ. A is m×k (k×m if transA) with row stride lda, B is k×n (n×k if
// transB) with row stride ldb, and C is m×n with row stride ldc. When beta is
// zero C is only written. It returns an error, and leaves C untouched, if a
// dimension is negative, a stride is smaller than its row, or a slice is too
// short.
func (e *Engine) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if err := checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		return err
	}
	e.multiply32(problem[float32]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc})
	return nil
}

// Dgemm is Sgemm in float64.
func (e *Engine) Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) error {
	if err := checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		return err
	}
	e.multiply64(problem[float64]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc})
	return nil
}

// multiply32 computes a validated float32 problem.
func (e *Engine) multiply32(p problem[float32]) {
	if trivial(&p) {
		return
	}
	s := e.s
	s.is64, s.p32 = false, p
	s.run(s.plan(p.m, p.n, p.k, s.k32.mr, s.k32.nr))
	s.p32 = problem[float32]{} // drop references to the caller's slices
}

// multiply64 computes a validated float64 problem.
func (e *Engine) multiply64(p problem[float64]) {
	if trivial(&p) {
		return
	}
	s := e.s
	s.is64, s.p64 = true, p
	s.run(s.plan(p.m, p.n, p.k, s.k64.mr, s.k64.nr))
	s.p64 = problem[float64]{}
}

// trivial handles a problem that needs no multiply (C empty, or k or alpha zero: C = beta·C) and reports
// whether it did.
func trivial[T float](p *problem[T]) bool {
	if p.m == 0 || p.n == 0 {
		return true
	}
	if p.k == 0 || p.alpha == 0 {
		scale(p.m, p.n, p.beta, p.c, p.ldc)
		return true
	}
	return false
}

// plan splits C into at most s.threads strips of whole tiles, along rows or columns, and returns how
// many it made. Splitting the columns makes every thread pack all of A, splitting the rows all of B:
// it picks the split with the lower estimated cost per thread (tiles to compute plus elements to pack).
func (s *state) plan(m, n, k, mr, nr int) int {
	parts := s.threads
	if s.closed || 2*float64(m)*float64(n)*float64(k) < minParallelFlops {
		parts = 1
	}
	tm, tn := (m+mr-1)/mr, (n+nr-1)/nr
	if splitColumns(m, n, k, tm, tn, mr, nr, parts) {
		parts = min(parts, tn)
		for i := range parts {
			s.spans[i] = span{0, m, min(n, i*tn/parts*nr), min(n, (i+1)*tn/parts*nr)}
		}
	} else {
		parts = min(parts, tm)
		for i := range parts {
			s.spans[i] = span{min(m, i*tm/parts*mr), min(m, (i+1)*tm/parts*mr), 0, n}
		}
	}
	return parts
}

// packCost is the estimated cost of packing one element relative to one multiply-add of a tile:
// packing moves data through the caches (and may transpose it) while the micro-kernel runs near peak.
const packCost = 48

// splitColumns reports whether splitting C by columns (each of parts threads packing all of A and its
// share of B) costs less per thread than splitting it by rows (all of B, a share of A).
func splitColumns(m, n, k, tm, tn, mr, nr, parts int) bool {
	if parts <= 1 {
		return tn >= tm
	}
	cost := func(tiles, shareTiles, whole, share int) float64 {
		busiest := (shareTiles + parts - 1) / parts
		return float64(busiest*tiles*mr*nr)*float64(k) + packCost*float64(k)*(float64(whole)+float64(share)/float64(parts))
	}
	byColumns := cost(tm, tn, m, n)
	byRows := cost(tn, tm, n, m)
	return byColumns <= byRows
}

// run computes the parts of the current call. The caller claims parts too,
// so a call never waits for a worker that has not started: at worst the
// caller does everything itself.
func (s *state) run(parts int) {
	if parts == 1 {
		s.part(0)
		return
	}
	s.left.Store(int64(parts))
	s.claim.Store(uint64(parts) << 32) // publishes the problem and spans
	for range parts - 1 {
		select {
		case s.wake <- struct{}{}:
		default: // enough nudges are pending already
		}
	}
	if s.claimParts() {
		return
	}
	// A worker is finishing the last part, usually within microseconds of
	// us: poll before parking, since waking a parked thread costs more.
	if got, _ := poll(s.done, donePoll); !got {
		<-s.done
	}
}

// claimParts computes unclaimed parts until none is left and reports
// whether it finished the call's last part.
func (s *state) claimParts() (last bool) {
	for {
		x := s.claim.Add(1) - 1
		i, n := x&(1<<32-1), x>>32
		if i >= n {
			return last
		}
		s.part(int(i))
		last = s.left.Add(-1) == 0
	}
}

// part computes strip i of the current call.
func (s *state) part(i int) {
	sp := s.spans[i]
	if s.is64 {
		ws := &s.ws64[i]
		ws.reserve(s.k64, sp.m1-sp.m0, sp.n1-sp.n0, s.p64.k)
		if s.p64.src != nil {
			ws.reserveSource(s.k64, sp.n1-sp.n0, s.p64.k)
		}
		gemmBlock(s.k64, &s.p64, ws, sp.m0, sp.m1, sp.n0, sp.n1)
		return
	}
	ws := &s.ws32[i]
	ws.reserve(s.k32, sp.m1-sp.m0, sp.n1-sp.n0, s.p32.k)
	if s.p32.src != nil {
		ws.reserveSource(s.k32, sp.n1-sp.n0, s.p32.k)
	}
	gemmBlock(s.k32, &s.p32, ws, sp.m0, sp.m1, sp.n0, sp.n1)
}

func (s *state) worker() {
	for s.await() {
		if s.claimParts() {
			s.done <- struct{}{}
		}
	}
}

// await waits for a nudge and reports false once the Engine is closed. It
// polls for a while before parking: multiplies tend to come in bursts, and
// a parked thread takes tens of microseconds to wake.
func (s *state) await() bool {
	if got, ok := poll(s.wake, workerPoll); got {
		return ok
	}
	_, ok := <-s.wake
	return ok
}

// poll tries to receive from ch for about d, yielding the processor between
// tries. got reports whether it received; ok is false if ch was closed.
func poll(ch chan struct{}, d time.Duration) (got, ok bool) {
	start := time.Now()
	for i := 1; ; i++ {
		select {
		case _, ok := <-ch:
			return true, ok
		default:
		}
		if i%16 == 0 && time.Since(start) > d {
			return false, true
		}
		runtime.Gosched()
	}
}

func (s *state) stop() {
	s.stopOnce.Do(func() {
		if s.wake != nil {
			close(s.wake)
		}
	})
}
