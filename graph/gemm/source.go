package gemm

import "fmt"

// Source supplies the B operand of a multiply block by block, for an operand that is never stored
// whole: a convolution's im2col matrix, generated from the image while the multiply packs it (an
// implicit GEMM). The stored matrix is k×n, or n×k when the multiply transposes it.
type Source[T float] interface {
	// Rows writes rows [r0, r0+rows) × columns [c0, c0+cols) of the stored matrix into dst, row after
	// row (row stride cols). It is called from several goroutines at once, each with its own dst.
	Rows(dst []T, r0, rows, c0, cols int)
}

// SgemmSource is Sgemm with B supplied by src instead of stored in a slice.
func (e *Engine) SgemmSource(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, src Source[float32], beta float32, c []float32, ldc int) error {
	if err := checkSourceArgs(transA, m, n, k, len(a), lda, src != nil, len(c), ldc); err != nil {
		return err
	}
	e.multiply32(problem[float32]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, src: src, c: c, lda: lda, ldc: ldc})
	return nil
}

// DgemmSource is SgemmSource in float64.
func (e *Engine) DgemmSource(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, src Source[float64], beta float64, c []float64, ldc int) error {
	if err := checkSourceArgs(transA, m, n, k, len(a), lda, src != nil, len(c), ldc); err != nil {
		return err
	}
	e.multiply64(problem[float64]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, src: src, c: c, lda: lda, ldc: ldc})
	return nil
}

func checkSourceArgs(transA bool, m, n, k, lenA, lda int, haveSrc bool, lenC, ldc int) error {
	if !haveSrc {
		return fmt.Errorf("gemm: nil source for b")
	}
	return checkAC(transA, m, n, k, lenA, lda, lenC, ldc)
}

// packBSource is packB for a Source: it fetches the block through ws.rows, then packs it as packB packs
// a stored block.
func packBSource[T float](kern *kernel[T], trans bool, src Source[T], p0, kc, j0, nc, nr int, dst, rows []T) {
	if !trans {
		// One row of op(B) = one stored row, dealt out to the panels.
		row := rows[:nc]
		for p := 0; p < kc; p++ {
			src.Rows(row, p0+p, 1, j0, nc)
			dealRow(dst, row, p, kc, nr)
		}
		return
	}
	// op(B)[p][j] = stored[j][p]: one panel's stored rows at a time, interleaved into its columns.
	for jp := 0; jp < nc; jp += nr {
		cols := min(nr, nc-jp)
		d := dst[jp*kc:][:nr*kc]
		block := rows[:cols*kc]
		src.Rows(block, j0+jp, cols, p0, kc)
		interleave(kern, d, nr, block, kc, cols, kc)
		zeroCols(d, nr, cols, kc)
	}
}
