package gemm

// packA packs the mc×kc block of op(A) starting at row i0, column p0 into
// micro-panels of mr rows: panel q holds dst[q*mr*kc + p*mr + r] =
// op(A)[i0+q*mr+r][p0+p], with rows beyond mc zeroed.
func packA[T float](kern *kernel[T], trans bool, a []T, lda, i0, mc, p0, kc, mr int, dst []T) {
	for ip := 0; ip < mc; ip += mr {
		rows := min(mr, mc-ip)
		d := dst[ip*kc:][:mr*kc]
		if trans {
			// op(A)[i][p] = a[p*lda+i]: each k step is a contiguous run.
			for p := 0; p < kc; p++ {
				dd := d[p*mr:][:mr]
				copy(dd, a[(p0+p)*lda+i0+ip:][:rows])
				clear(dd[rows:])
			}
			continue
		}
		// op(A)[i][p] = a[i*lda+p]: rows are contiguous, panels interleave them.
		interleave(kern, d, mr, a[(i0+ip)*lda+p0:], lda, rows, kc)
		zeroCols(d, mr, rows, kc)
	}
}

// packB packs the kc×nc block of op(B) starting at row p0, column j0 into
// micro-panels of nr columns: panel q holds dst[q*nr*kc + p*nr + j] =
// op(B)[p0+p][j0+q*nr+j], with columns beyond nc zeroed.
func packB[T float](kern *kernel[T], trans bool, b []T, ldb, p0, kc, j0, nc, nr int, dst []T) {
	if !trans {
		// op(B)[p][j] = b[p*ldb+j]: read each row of the block in one
		// sequential sweep and deal its runs out to the panels.
		for p := 0; p < kc; p++ {
			dealRow(dst, b[(p0+p)*ldb+j0:][:nc], p, kc, nr)
		}
		return
	}
	for jp := 0; jp < nc; jp += nr {
		cols := min(nr, nc-jp)
		d := dst[jp*kc:][:nr*kc]
		// op(B)[p][j] = b[j*ldb+p]: columns of op(B) are contiguous rows of b.
		interleave(kern, d, nr, b[(j0+jp)*ldb+p0:], ldb, cols, kc)
		zeroCols(d, nr, cols, kc)
	}
}

// dealRow writes row p (nc values) of a kc×nc block into its nr-wide panels in dst, zeroing the last
// panel's columns beyond nc.
func dealRow[T float](dst, row []T, p, kc, nr int) {
	nc := len(row)
	full := nc / nr * nr
	for jp := 0; jp < full; jp += nr {
		copy(dst[jp*kc+p*nr:][:nr], row[jp:jp+nr])
	}
	if full < nc {
		dd := dst[full*kc+p*nr:][:nr]
		copy(dd, row[full:])
		clear(dd[nc-full:])
	}
}

// interleave writes d[p*ld+c] = src[c*lds+p] for c < cnt, p < kc: it turns cnt
// contiguous source rows into the columns of a panel with row stride ld.
func interleave[T float](kern *kernel[T], d []T, ld int, src []T, lds, cnt, kc int) {
	if cnt == 6 && ld == 6 {
		interleave6(d, src, lds, kc)
		return
	}
	c := 0
	if g := kern.tgroup; kern.transpose != nil {
		for ; c+g <= cnt; c += g {
			kern.transpose(d[c:], ld, src[c*lds:], lds, kc)
		}
	}
	for ; c+4 <= cnt; c += 4 {
		s0 := src[c*lds:][:kc]
		s1 := src[(c+1)*lds:][:kc]
		s2 := src[(c+2)*lds:][:kc]
		s3 := src[(c+3)*lds:][:kc]
		dd := d[c:]
		for p := range s0 {
			o := dd[p*ld:][:4]
			o[0], o[1], o[2], o[3] = s0[p], s1[p], s2[p], s3[p]
		}
	}
	for ; c < cnt; c++ {
		s := src[c*lds:][:kc]
		dd := d[c:]
		for p, v := range s {
			dd[p*ld] = v
		}
	}
}

// zeroCols zeroes columns cnt..ld-1 of the kc rows of d (row stride ld).
func zeroCols[T float](d []T, ld, cnt, kc int) {
	if cnt == ld {
		return
	}
	for p := 0; p < kc; p++ {
		clear(d[p*ld+cnt : (p+1)*ld])
	}
}

// interleave6 is interleave for a full panel of six rows (the AVX-512 and AVX2 kernels' MR): six loads
// and one six-element store per k step.
func interleave6[T float](d, src []T, lds, kc int) {
	s0 := src[:kc]
	s1 := src[lds:][:kc]
	s2 := src[2*lds:][:kc]
	s3 := src[3*lds:][:kc]
	s4 := src[4*lds:][:kc]
	s5 := src[5*lds:][:kc]
	d = d[:6*kc]
	for p := range s0 {
		o := d[6*p:][:6]
		o[0], o[1], o[2], o[3], o[4], o[5] = s0[p], s1[p], s2[p], s3[p], s4[p], s5[p]
	}
}
