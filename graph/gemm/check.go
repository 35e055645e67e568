package gemm

import "fmt"

// checkArgs validates the dimensions, strides and slice lengths of a GEMM
// call. A stored matrix of rows×cols with row stride ld needs ld ≥ max(1,cols)
// and, when it is not empty, at least (rows-1)*ld+cols elements.
func checkArgs(transA, transB bool, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) error {
	if err := checkAC(transA, m, n, k, lenA, lda, lenC, ldc); err != nil {
		return err
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	return checkMatrix("b", br, bc, lenB, ldb)
}

// checkAC validates the dimensions and the A and C operands of a GEMM call.
func checkAC(transA bool, m, n, k, lenA, lda, lenC, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("gemm: negative dimension m=%d n=%d k=%d", m, n, k)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	if err := checkMatrix("a", ar, ac, lenA, lda); err != nil {
		return err
	}
	return checkMatrix("c", m, n, lenC, ldc)
}

func checkMatrix(name string, rows, cols, length, ld int) error {
	if ld < max(1, cols) {
		return fmt.Errorf("gemm: ld%s=%d < max(1, %d columns)", name, ld, cols)
	}
	if rows == 0 || cols == 0 {
		return nil
	}
	if need := (rows-1)*ld + cols; length < need {
		return fmt.Errorf("gemm: len(%s)=%d < %d needed for %d×%d with ld%s=%d", name, length, need, rows, cols, name, ld)
	}
	return nil
}
