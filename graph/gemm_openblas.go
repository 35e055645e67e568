//go:build openblas

package graph

import (
	"fmt"
	"os"
	"strconv"

	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/netlib/blas/netlib"
)

// With the openblas build tag, GEMM calls OpenBLAS through gonum's cgo binding. Build with
//
//	CGO_LDFLAGS=-lopenblas go build -tags openblas ./...
//
// after installing Debian's libopenblas-dev. OpenBLAS runs its own threads; fovea sets their number
// from Exec's thread count through OPENBLAS_NUM_THREADS when it is not already set.
type openBLAS struct{ impl netlib.Implementation }

func newGemmEngine(threads int) gemmEngine {
	if os.Getenv("OPENBLAS_NUM_THREADS") == "" && threads > 0 {
		os.Setenv("OPENBLAS_NUM_THREADS", strconv.Itoa(threads))
	}
	return openBLAS{}
}

// GemmKernel names the matrix-multiply kernel this build uses.
func GemmKernel() string { return "openblas" }

func (openBLAS) Close() {}

func trans(t bool) gblas.Transpose {
	if t {
		return gblas.Trans
	}
	return gblas.NoTrans
}

// check validates what OpenBLAS would otherwise crash on.
func check(transA, transB bool, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) error {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	switch {
	case m < 0 || n < 0 || k < 0:
		return fmt.Errorf("negative dimension %d×%d×%d", m, n, k)
	case lda < max(1, ac) || ldb < max(1, bc) || ldc < max(1, n):
		return fmt.Errorf("leading dimensions %d, %d, %d too small", lda, ldb, ldc)
	case ar > 0 && lenA < (ar-1)*lda+ac, br > 0 && lenB < (br-1)*ldb+bc, m > 0 && lenC < (m-1)*ldc+n:
		return fmt.Errorf("slices too short for %d×%d×%d", m, n, k)
	}
	return nil
}

func (o openBLAS) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) error {
	if err := check(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if beta == 0 {
		clearRows(c, m, n, ldc) // BLAS may read C when beta is 0 in some builds; NaNs must not leak
	}
	o.impl.Sgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return nil
}

func (o openBLAS) Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) error {
	if err := check(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if beta == 0 {
		clearRows(c, m, n, ldc)
	}
	o.impl.Dgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	return nil
}

func clearRows[T Float](c []T, m, n, ldc int) {
	for i := 0; i < m; i++ {
		clear(c[i*ldc : i*ldc+n])
	}
}
