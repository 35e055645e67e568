package graph

import (
	"fmt"

	blas "fovea/graph/gemm"
)

// gemmEngine is the matrix multiply every dense and convolution kernel is built on.
type gemmEngine interface {
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error
	Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) error
	Close()
}

// gemm computes C = alpha*op(A)*op(B) + beta*C in T's precision.
func gemm[T Float](e *Exec, transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) error {
	var err error
	if is32[T]() {
		err = e.gemm.Sgemm(transA, transB, m, n, k, float32(alpha), cast[float32](a), lda, cast[float32](b), ldb, float32(beta), cast[float32](c), ldc)
	} else {
		err = e.gemm.Dgemm(transA, transB, m, n, k, float64(alpha), cast[float64](a), lda, cast[float64](b), ldb, float64(beta), cast[float64](c), ldc)
	}
	if err != nil {
		return fmt.Errorf("gemm %dx%dx%d: %w", m, n, k, err)
	}
	return nil
}

// sourceEngine is a GEMM engine that takes its B operand from a blas.Source (an implicit GEMM).
type sourceEngine interface {
	SgemmSource(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, src blas.Source[float32], beta float32, c []float32, ldc int) error
	DgemmSource(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, src blas.Source[float64], beta float64, c []float64, ldc int) error
}

// rowSource is a B operand served block by block: a k×n stored matrix (n×k when transB).
type rowSource[T Float] interface {
	Rows(dst []T, r0, rows, c0, cols int)
}

// gemmSource is gemm with B supplied by src. An engine without implicit GEMM gets src materialised
// into scratch slot 0 first.
func gemmSource[T Float](e *Exec, transA, transB bool, m, n, k int, alpha T, a []T, lda int, src rowSource[T], beta T, c []T, ldc int) error {
	se, ok := e.gemm.(sourceEngine)
	if !ok {
		rows, cols := k, n
		if transB {
			rows, cols = n, k
		}
		b := scratch[T](e, 0, rows*cols)
		job := jobOf[materializeJob[T]](e)
		job.src, job.b, job.cols = src, b, cols
		e.parallel(rows, job)
		job.src = nil
		return gemm(e, transA, transB, m, n, k, alpha, a, lda, b, cols, beta, c, ldc)
	}
	var err error
	if is32[T]() {
		err = se.SgemmSource(transA, transB, m, n, k, float32(alpha), cast[float32](a), lda, any(src).(blas.Source[float32]), float32(beta), cast[float32](c), ldc)
	} else {
		err = se.DgemmSource(transA, transB, m, n, k, float64(alpha), cast[float64](a), lda, any(src).(blas.Source[float64]), float64(beta), cast[float64](c), ldc)
	}
	if err != nil {
		return fmt.Errorf("gemm %dx%dx%d: %w", m, n, k, err)
	}
	return nil
}

// materializeJob writes rows of a source into a stored matrix.
type materializeJob[T Float] struct {
	src  rowSource[T]
	b    []T
	cols int
}

func (job *materializeJob[T]) Run(lo, hi int) {
	job.src.Rows(job.b[lo*job.cols:hi*job.cols], lo, hi-lo, 0, job.cols)
}
