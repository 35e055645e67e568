package gemm

// problem holds the arguments of one validated multiply.
type problem[T float] struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	src            Source[T] // supplies B when set (b is then nil)
}

// workspace holds one thread's packing buffers.
type workspace[T float] struct {
	ap, bp, tile []T
	rows         []T // a Source's block before packing
}

// reserve grows the buffers to what kern needs for an rows×cols block of C
// with depth k; it allocates only when they are too small.
func (ws *workspace[T]) reserve(kern *kernel[T], rows, cols, k int) {
	kc := min(kern.kc, (k+15)&^15)
	if n := roundUp(min(kern.mc, rows), kern.mr) * kc; len(ws.ap) < n {
		ws.ap = make([]T, n)
	}
	if n := roundUp(min(kern.nc, cols), kern.nr) * kc; len(ws.bp) < n {
		ws.bp = make([]T, n)
	}
	if n := kern.mr * kern.nr; len(ws.tile) < n {
		ws.tile = make([]T, n)
	}
}

// reserveSource also grows the buffer a Source writes its blocks into.
func (ws *workspace[T]) reserveSource(kern *kernel[T], cols, k int) {
	kc := min(kern.kc, (k+15)&^15)
	if n := max(min(kern.nc, cols), kern.nr*kc); len(ws.rows) < n {
		ws.rows = make([]T, n)
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// gemmBlock computes rows [m0,m1) × columns [n0,n1) of C for p, which must
// have k ≥ 1 and alpha ≠ 0. ws must have been reserved for kern.
func gemmBlock[T float](kern *kernel[T], p *problem[T], ws *workspace[T], m0, m1, n0, n1 int) {
	// Split k into equal slices of at most kern.kc (rounded to 16 for the
	// transposing packers) rather than leaving a thin last slice.
	slices := (p.k + kern.kc - 1) / kern.kc
	kcs := min(kern.kc, ((p.k+slices-1)/slices+15)&^15)
	for jc := n0; jc < n1; jc += kern.nc {
		nc := min(kern.nc, n1-jc)
		for pc := 0; pc < p.k; pc += kcs {
			kc := min(kcs, p.k-pc)
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			if p.src != nil {
				packBSource(kern, p.transB, p.src, pc, kc, jc, nc, kern.nr, ws.bp, ws.rows)
			} else {
				packB(kern, p.transB, p.b, p.ldb, pc, kc, jc, nc, kern.nr, ws.bp)
			}
			for ic := m0; ic < m1; ic += kern.mc {
				mc := min(kern.mc, m1-ic)
				packA(kern, p.transA, p.a, p.lda, ic, mc, pc, kc, kern.mr, ws.ap)
				macroKernel(kern, ws, mc, nc, kc, p.alpha, beta, p.c[ic*p.ldc+jc:], p.ldc)
			}
		}
	}
}

// macroKernel multiplies the packed mc×kc block of A by the packed kc×nc
// block of B into c (row stride ldc), one MR×NR tile at a time. The outer
// loop walks B micro-panels so that each is reused from L1/L2 by all the A
// micro-panels, which stream from the L2-resident packed A block.
func macroKernel[T float](kern *kernel[T], ws *workspace[T], mc, nc, kc int, alpha, beta T, c []T, ldc int) {
	mr, nr := kern.mr, kern.nr
	for jr := 0; jr < nc; jr += nr {
		bp := ws.bp[jr*kc:][:nr*kc]
		for ir := 0; ir < mc; ir += mr {
			tileAt(kern, ws, kc, ws.ap[ir*kc:][:mr*kc], bp, min(mr, mc-ir), min(nr, nc-jr), alpha, beta, c[ir*ldc+jr:], ldc)
		}
	}
}

// tileAt updates the rows×cols corner of the tile at c. Full tiles go
// straight to the micro-kernel; edge tiles are computed into ws.tile and
// copied out.
func tileAt[T float](kern *kernel[T], ws *workspace[T], kc int, ap, bp []T, rows, cols int, alpha, beta T, c []T, ldc int) {
	mr, nr := kern.mr, kern.nr
	if cols == nr {
		if rows == mr {
			kern.tile(kc, ap, bp, c, ldc, alpha, beta)
			return
		}
		if kern.edges != nil {
			kern.edges[rows](kc, ap, bp, c, ldc, alpha, beta)
			return
		}
	}
	tile := ws.tile[:mr*nr]
	kern.tile(kc, ap, bp, tile, nr, alpha, 0)
	for i := 0; i < rows; i++ {
		dst := c[i*ldc:][:cols]
		src := tile[i*nr:][:cols]
		if beta == 0 {
			copy(dst, src)
			continue
		}
		for j, v := range src {
			dst[j] = beta*dst[j] + v
		}
	}
}

// scale sets the m×n matrix c to beta*c; beta == 0 stores zeros without
// reading c.
func scale[T float](m, n int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc:][:n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}
