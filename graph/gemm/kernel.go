package gemm

// float is the element type of a multiply.
type float interface{ ~float32 | ~float64 }

// tileFunc computes one MR×NR tile: c[r*ldc+j] = alpha*Σ_p a[p*MR+r]*b[p*NR+j]
// + beta*c[r*ldc+j] for r < MR, j < NR, with k ≥ 1. When beta is zero, c is
// not read. Callers guarantee len(a) ≥ k*MR, len(b) ≥ k*NR and
// len(c) ≥ (MR-1)*ldc+NR.
type tileFunc[T float] func(k int, a, b, c []T, ldc int, alpha, beta T)

// kernel is a micro-kernel with its tile shape and the cache blocking tuned
// for it.
type kernel[T float] struct {
	name       string
	mr, nr     int // tile shape
	mc, kc, nc int // cache blocks; mc is a multiple of mr, nc of nr
	tile       tileFunc[T]

	// edges, if set, holds tiles computing only the first r < mr rows
	// (index r) from the same packed panels; they update C in place.
	edges []tileFunc[T]

	// transpose, if set, performs interleave for exactly tgroup source
	// rows, with an assembly register transpose.
	transpose func(d []T, ld int, src []T, lds, kc int)
	tgroup    int
}

// genericKernel returns the portable kernel for T.
func genericKernel[T float]() *kernel[T] {
	return &kernel[T]{name: "generic-4x4", mr: 4, nr: 4, mc: 128, kc: 256, nc: 2048, tile: tileGeneric4x4[T]}
}

// tileGeneric4x4 is the portable 4×4 micro-kernel.
func tileGeneric4x4[T float](k int, a, b, c []T, ldc int, alpha, beta T) {
	a = a[:4*k]
	b = b[:4*k]
	var c00, c01, c02, c03 T
	var c10, c11, c12, c13 T
	var c20, c21, c22, c23 T
	var c30, c31, c32, c33 T
	for len(a) >= 4 && len(b) >= 4 {
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a = a[4:]
		b = b[4:]
	}
	r0 := c[0*ldc:][:4]
	r1 := c[1*ldc:][:4]
	r2 := c[2*ldc:][:4]
	r3 := c[3*ldc:][:4]
	if beta == 0 {
		r0[0], r0[1], r0[2], r0[3] = alpha*c00, alpha*c01, alpha*c02, alpha*c03
		r1[0], r1[1], r1[2], r1[3] = alpha*c10, alpha*c11, alpha*c12, alpha*c13
		r2[0], r2[1], r2[2], r2[3] = alpha*c20, alpha*c21, alpha*c22, alpha*c23
		r3[0], r3[1], r3[2], r3[3] = alpha*c30, alpha*c31, alpha*c32, alpha*c33
		return
	}
	r0[0], r0[1], r0[2], r0[3] = alpha*c00+beta*r0[0], alpha*c01+beta*r0[1], alpha*c02+beta*r0[2], alpha*c03+beta*r0[3]
	r1[0], r1[1], r1[2], r1[3] = alpha*c10+beta*r1[0], alpha*c11+beta*r1[1], alpha*c12+beta*r1[2], alpha*c13+beta*r1[3]
	r2[0], r2[1], r2[2], r2[3] = alpha*c20+beta*r2[0], alpha*c21+beta*r2[1], alpha*c22+beta*r2[2], alpha*c23+beta*r2[3]
	r3[0], r3[1], r3[2], r3[3] = alpha*c30+beta*r3[0], alpha*c31+beta*r3[1], alpha*c32+beta*r3[2], alpha*c33+beta*r3[3]
}
