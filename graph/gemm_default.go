//go:build !openblas

package graph

import blas "fovea/graph/gemm"

// newGemmEngine returns fovea's GEMM (graph/gemm), which picks the fastest kernel this CPU supports.
func newGemmEngine(threads int) gemmEngine { return blas.New(threads) }

// GemmKernel names the matrix-multiply kernel this build uses.
func GemmKernel() string { return blas.New(1).Kernel() }
