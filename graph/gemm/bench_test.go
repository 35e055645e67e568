package gemm

import (
	"flag"
	"fmt"
	"math"
	"testing"
	"time"
)

var (
	benchKernel = flag.String("gemm.kernel", "", "float32 micro-kernel for benchmarks (default: best available)")
	benchMC     = flag.Int("gemm.mc", 0, "override MC for benchmarks")
	benchKC     = flag.Int("gemm.kc", 0, "override KC for benchmarks")
	benchNC     = flag.Int("gemm.nc", 0, "override NC for benchmarks")
)

// benchShapes are 512³ and the GEMMs of fovea's target CNN at batch 32:
// forward convolutions, then the weight-gradient (transB) and
// input-gradient (transA) forms.
var benchShapes = []struct {
	name           string
	m, n, k        int
	transA, transB bool
}{
	{"512x512x512", 512, 512, 512, false, false},
	{"fwd128x6272x576", 128, 6272, 576, false, false},
	{"fwd128x6272x1152", 128, 6272, 1152, false, false},
	{"fwd256x1568x1152", 256, 1568, 1152, false, false},
	{"fwd256x1568x2304", 256, 1568, 2304, false, false},
	{"fwd64x25088x49", 64, 25088, 49, false, false},
	{"wgrad256x2304x1568T", 256, 2304, 1568, false, true},
	{"igrad2304x1568x256T", 2304, 1568, 256, true, false},
}

func benchEngine(b *testing.B, threads int) *Engine {
	name := *benchKernel
	if name == "" {
		name = Kernels()[0]
	}
	e, err := NewWithKernel(threads, name)
	if err != nil {
		b.Fatal(err)
	}
	k := *e.s.k32
	if *benchMC > 0 {
		k.mc = *benchMC
	}
	if *benchKC > 0 {
		k.kc = *benchKC
	}
	if *benchNC > 0 {
		k.nc = *benchNC
	}
	e.s.k32 = &k
	return e
}

func BenchmarkSgemm(b *testing.B) {
	for _, sh := range benchShapes {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", sh.name, threads), func(b *testing.B) {
				e := benchEngine(b, threads)
				defer e.Close()
				lda, ldb := sh.k, sh.n
				if sh.transA {
					lda = sh.m
				}
				if sh.transB {
					ldb = sh.k
				}
				x := make([]float32, sh.m*sh.k)
				y := make([]float32, sh.k*sh.n)
				z := make([]float32, sh.m*sh.n)
				for i := range x {
					x[i] = float32(i%7) * 0.25
				}
				for i := range y {
					y[i] = float32(i%5) * 0.5
				}
				if err := e.Sgemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, x, lda, y, ldb, 0, z, sh.n); err != nil {
					b.Fatal(err)
				}
				// The machine is shared, so besides the mean also report the
				// best single call, which is what an idle machine sustains.
				best := time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					_ = e.Sgemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, x, lda, y, ldb, 0, z, sh.n)
					best = min(best, time.Since(t0))
				}
				flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(flops/best.Seconds()/1e9, "best-GFLOP/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func BenchmarkDgemm512(b *testing.B) {
	e := New(1)
	defer e.Close()
	const n = 512
	x, y, z := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
	for b.Loop() {
		_ = e.Dgemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
	}
	b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkTile measures each float32 micro-kernel alone on L1-resident
// panels: the ceiling for the full multiply.
func BenchmarkTile(b *testing.B) {
	for _, kern := range kernels32() {
		b.Run(kern.name, func(b *testing.B) {
			const k = 128
			a := make([]float32, kern.mr*k)
			bp := make([]float32, kern.nr*k)
			c := make([]float32, kern.mr*kern.nr)
			for b.Loop() {
				kern.tile(k, a, bp, c, kern.nr, 1, 1)
			}
			b.ReportMetric(2*float64(kern.mr*kern.nr*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkSmall shows where splitting across threads starts to pay.
func BenchmarkSmall(b *testing.B) {
	for _, n := range []int{64, 96, 128, 160, 192, 256, 320} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%d/threads=%d", n, threads), func(b *testing.B) {
				e := New(threads)
				defer e.Close()
				x, y, z := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
				best := time.Duration(math.MaxInt64)
				for b.Loop() {
					t0 := time.Now()
					_ = e.Sgemm(false, false, n, n, n, 1, x, n, y, n, 0, z, n)
					best = min(best, time.Since(t0))
				}
				flops := 2 * float64(n*n*n)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(flops/best.Seconds()/1e9, "best-GFLOP/s")
			})
		}
	}
}
