package graph

import "fmt"

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
