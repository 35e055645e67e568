//go:build gpu

package cuda

/*
#cgo LDFLAGS: -lcublas
#include <cublas_v2.h>

static cublasStatus_t fovea_tf32_handle(cublasHandle_t *h) {
	cublasStatus_t s = cublasCreate(h);
	if (s != CUBLAS_STATUS_SUCCESS) return s;
	s = cublasSetMathMode(*h, CUBLAS_TF32_TENSOR_OP_MATH);
	if (s != CUBLAS_STATUS_SUCCESS) cublasDestroy(*h);
	return s;
}

// Column-major C = alpha·op(A)·op(B) + beta·C on device addresses.
static cublasStatus_t fovea_sgemm(cublasHandle_t h, int transA, int transB, int m, int n, int k,
		float alpha, unsigned long long a, int lda, unsigned long long b, int ldb,
		float beta, unsigned long long c, int ldc) {
	return cublasSgemm(h, transA ? CUBLAS_OP_T : CUBLAS_OP_N, transB ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k,
		&alpha, (const float *)a, lda, (const float *)b, ldb, &beta, (float *)c, ldc);
}
*/
import "C"

import "fmt"

// tf32Gemm is a cuBLAS handle of fovea's own in TF32 tensor-op math mode (Plan.TF32):
// gorgonia.org/cu/blas does not expose its handle's math mode.
type tf32Gemm struct {
	h C.cublasHandle_t
}

// newTF32Gemm creates the handle in the current context.
func newTF32Gemm() (*tf32Gemm, error) {
	var h C.cublasHandle_t
	if s := C.fovea_tf32_handle(&h); s != C.CUBLAS_STATUS_SUCCESS {
		return nil, fmt.Errorf("cuda: creating a cuBLAS handle in TF32 mode: cuBLAS status %d", int(s))
	}
	return &tf32Gemm{h: h}, nil
}

// sgemm runs g, row-major, as the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ (as Engine.sgemm does).
func (t *tf32Gemm) sgemm(e *Engine, g *Gemm) error {
	s := C.fovea_sgemm(t.h, cBool(g.TransB), cBool(g.TransA), C.int(g.N), C.int(g.M), C.int(g.K),
		C.float(g.Alpha), C.ulonglong(e.address(g.B)), C.int(g.LDB), C.ulonglong(e.address(g.A)), C.int(g.LDA),
		C.float(g.Beta), C.ulonglong(e.address(g.C)), C.int(g.LDC))
	if s != C.CUBLAS_STATUS_SUCCESS {
		return fmt.Errorf("cuda: TF32 GEMM %d×%d×%d: cuBLAS status %d", g.M, g.N, g.K, int(s))
	}
	return nil
}

func (t *tf32Gemm) close() {
	C.cublasDestroy(t.h)
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
