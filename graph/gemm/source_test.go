package gemm

import (
	"fmt"
	"testing"
)

// storedSource serves a stored matrix through the Source interface.
type storedSource[T float] struct {
	b  []T
	ld int
}

func (s storedSource[T]) Rows(dst []T, r0, rows, c0, cols int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*cols:(r+1)*cols], s.b[(r0+r)*s.ld+c0:])
	}
}

// TestSgemmSourceMatchesSgemm checks that a multiply fed by a Source gives bit for bit what the same
// multiply gives from the stored operand, for every case, kernel and thread count.
func TestSgemmSourceMatchesSgemm(t *testing.T) {
	all := prepare(true, 3)
	for _, k32 := range kernels32() {
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/threads=%d", k32.name, threads), func(t *testing.T) {
				e := newEngine(threads, k32, genericKernel[float64]())
				defer e.Close()
				for _, pc := range all {
					tc, x := pc.tc, pc.x
					a, b := to32(x.a), to32(x.b)
					want, got := to32(x.c), to32(x.c)
					if err := e.Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, float32(tc.alpha), a, x.lda, b, x.ldb, float32(tc.beta), want, x.ldc); err != nil {
						t.Fatal(err)
					}
					src := storedSource[float32]{b, x.ldb}
					if err := e.SgemmSource(tc.transA, tc.transB, tc.m, tc.n, tc.k, float32(tc.alpha), a, x.lda, src, float32(tc.beta), got, x.ldc); err != nil {
						t.Fatalf("%v: %v", tc, err)
					}
					for i := range want {
						if want[i] != got[i] && !(want[i] != want[i] && got[i] != got[i]) {
							t.Fatalf("%v: c[%d] = %v from a source, %v from the stored matrix", tc, i, got[i], want[i])
						}
					}
				}
			})
		}
	}
}

func TestDgemmSourceMatchesDgemm(t *testing.T) {
	e := New(2)
	defer e.Close()
	for _, pc := range prepare(false, 4) {
		tc, x := pc.tc, pc.x
		want := append([]float64(nil), x.c...)
		got := append([]float64(nil), x.c...)
		if err := e.Dgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, x.a, x.lda, x.b, x.ldb, tc.beta, want, x.ldc); err != nil {
			t.Fatal(err)
		}
		if err := e.DgemmSource(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, x.a, x.lda, storedSource[float64]{x.b, x.ldb}, tc.beta, got, x.ldc); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if want[i] != got[i] && !(want[i] != want[i] && got[i] != got[i]) {
				t.Fatalf("%v: c[%d] = %v from a source, %v from the stored matrix", tc, i, got[i], want[i])
			}
		}
	}
}

func TestSgemmSourceNil(t *testing.T) {
	e := New(1)
	defer e.Close()
	if err := e.SgemmSource(false, false, 2, 2, 2, 1, make([]float32, 4), 2, nil, 0, make([]float32, 4), 2); err == nil {
		t.Fatal("a nil source was accepted")
	}
}
