//go:build gpu

package cuda

/*
#cgo LDFLAGS: -lcublas
#include <cuda.h>
#include <cublas_v2.h>

// fovea_cublas_handle creates a handle with TF32 tensor-op math or IEEE FP32 (tf32 = 0), issuing its
// work on stream (NULL: the legacy default stream) with the given workspace (NULL: cuBLAS's own).
static cublasStatus_t fovea_cublas_handle(cublasHandle_t *h, int tf32, CUstream stream,
		unsigned long long workspace, size_t workspaceBytes) {
	cublasStatus_t s = cublasCreate(h);
	if (s != CUBLAS_STATUS_SUCCESS) return s;
	s = cublasSetMathMode(*h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
	if (s == CUBLAS_STATUS_SUCCESS && stream != NULL) s = cublasSetStream(*h, (cudaStream_t)stream);
	if (s == CUBLAS_STATUS_SUCCESS && workspace != 0) s = cublasSetWorkspace(*h, (void *)workspace, workspaceBytes);
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

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// cublasHandle is a cuBLAS handle of fovea's own, for what gorgonia.org/cu/blas does not expose: TF32
// tensor-op math (Plan.TF32), a stream other than the legacy default one, and a fixed workspace (a
// CUDA graph's capture may not allocate).
type cublasHandle struct {
	h C.cublasHandle_t
}

// newCublasHandle creates a handle in the current context; stream nil means the legacy default stream,
// workspace 0 cuBLAS's own workspace.
func newCublasHandle(tf32 bool, stream *cu.Stream, workspace cu.DevicePtr, workspaceBytes int64) (*cublasHandle, error) {
	var s C.CUstream
	if stream != nil {
		s = C.CUstream(unsafe.Pointer(stream.C()))
	}
	var h C.cublasHandle_t
	if st := C.fovea_cublas_handle(&h, cBool(tf32), s, C.ulonglong(workspace), C.size_t(workspaceBytes)); st != C.CUBLAS_STATUS_SUCCESS {
		return nil, fmt.Errorf("cuda: creating a cuBLAS handle (TF32 %v): cuBLAS status %d", tf32, int(st))
	}
	return &cublasHandle{h: h}, nil
}

// sgemm runs g, row-major, as the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ (as Engine.sgemm does).
func (t *cublasHandle) sgemm(e *Engine, g *Gemm) error {
	s := C.fovea_sgemm(t.h, cBool(g.TransB), cBool(g.TransA), C.int(g.N), C.int(g.M), C.int(g.K),
		C.float(g.Alpha), C.ulonglong(e.address(g.B)), C.int(g.LDB), C.ulonglong(e.address(g.A)), C.int(g.LDA),
		C.float(g.Beta), C.ulonglong(e.address(g.C)), C.int(g.LDC))
	if s != C.CUBLAS_STATUS_SUCCESS {
		return fmt.Errorf("cuda: GEMM %d×%d×%d: cuBLAS status %d", g.M, g.N, g.K, int(s))
	}
	return nil
}

func (t *cublasHandle) close() {
	C.cublasDestroy(t.h)
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
