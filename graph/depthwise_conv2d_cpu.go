package graph

// Depthwise convolution kernels: direct loops over image planes. Each output plane reads one input plane
// and KH·KW weights, so there is nothing for a GEMM to share; the loops are arranged so that, with stride
// 1, every kernel tap is one contiguous multiply-add over a row (Xception's 3×3 stride-1 SAME case).

// tapColumns returns the output columns [ox0, ox1) whose input column ox·sw − pl + j, under kernel column
// j, lies inside the image (empty when ox1 <= ox0).
func (g convGeometry) tapColumns(j int) (ox0, ox1 int) {
	ox0 = min(g.ow, max(0, (g.pl-j+g.sw-1)/g.sw))
	ox1 = min(g.ow, (g.w+g.pl-j+g.sw-1)/g.sw)
	return ox0, max(ox1, ox0)
}

// tapRows is tapColumns for rows: the output rows [oy0, oy1) whose input row under kernel row i is inside.
func (g convGeometry) tapRows(i int) (oy0, oy1 int) {
	oy0 = min(g.oh, max(0, (g.pt-i+g.sh-1)/g.sh))
	oy1 = min(g.oh, (g.h+g.pt-i+g.sh-1)/g.sh)
	return oy0, max(oy1, oy0)
}

// mulAdd adds a·x to y elementwise (len(y) >= len(x)).
func mulAdd[T Float](a T, x, y []T) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

// dotRow is Σ x[i]·y[i] (len(y) >= len(x)).
func dotRow[T Float](x, y []T) T {
	y = y[:len(x)]
	var s T
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// taps3 reports whether the kernel is 3 wide with column stride 1, the case the row kernels below handle
// in one pass per kernel row.
func (g convGeometry) taps3() bool { return g.kw == 3 && g.sw == 1 }

// interior3 returns, for a 3-wide kernel with column stride 1, the output columns [lo, hi) whose three
// input columns ox−pl, ox−pl+1, ox−pl+2 all lie inside the image (empty when hi <= lo).
func (g convGeometry) interior3() (lo, hi int) {
	return min(g.pl, g.ow), min(g.ow, g.w-2+g.pl)
}

// dwConvForward computes y = depthwise_conv(x, w), one output plane per task.
func dwConvForward[T Float](e *Exec, g convGeometry, x, w, y []T) {
	m := g.o / g.c
	hw, ohw, kk := g.h*g.w, g.oh*g.ow, g.kh*g.kw
	job := jobOf[dwConvForwardJob[T]](e)
	job.g, job.x, job.w, job.y, job.m, job.hw, job.ohw, job.kk = g, x, w, y, m, hw, ohw, kk
	e.parallel(g.n*g.o, job)
}

type dwConvForwardJob[T Float] struct {
	g   convGeometry
	x   []T
	w   []T
	y   []T
	m   int
	hw  int
	ohw int
	kk  int
}

func (job *dwConvForwardJob[T]) Run(lo, hi int) {
	g, x, w, y, m, hw, ohw, kk := job.g, job.x, job.w, job.y, job.m, job.hw, job.ohw, job.kk
	for p := lo; p < hi; p++ {
		n, o := p/g.o, p%g.o
		in := x[(n*g.c+o/m)*hw:][:hw]
		out := y[p*ohw:][:ohw]
		k := w[o*kk:][:kk]
		clear(out)
		for i := 0; i < g.kh; i++ {
			oy0, oy1 := g.tapRows(i)
			for oy := oy0; oy < oy1; oy++ {
				line := in[(oy*g.sh-g.pt+i)*g.w:][:g.w]
				row := out[oy*g.ow:][:g.ow]
				if g.taps3() {
					forwardRow3(g, k[i*3:i*3+3], line, row)
					continue
				}
				for j := 0; j < g.kw; j++ {
					ox0, ox1 := g.tapColumns(j)
					a, ix := k[i*g.kw+j], ox0*g.sw-g.pl+j
					if g.sw == 1 {
						mulAdd(a, line[ix:ix+ox1-ox0], row[ox0:ox1])
						continue
					}
					for ox := ox0; ox < ox1; ox++ {
						row[ox] += a * line[ix]
						ix += g.sw
					}
				}
			}
		}
	}
}

// forwardRow3 adds one kernel row's three taps k to an output row: row[ox] += Σ_j k[j]·line[ox−pl+j].
func forwardRow3[T Float](g convGeometry, k, line, row []T) {
	k0, k1, k2 := k[0], k[1], k[2]
	lo, hi := g.interior3()
	if hi > lo {
		r := row[lo:hi]
		l0, l1, l2 := line[lo-g.pl:][:len(r)], line[lo-g.pl+1:][:len(r)], line[lo-g.pl+2:][:len(r)]
		for t := range r {
			r[t] += k0*l0[t] + k1*l1[t] + k2*l2[t]
		}
	} else {
		hi = lo
	}
	// Edge columns, where some taps fall on padding.
	edge := func(ox int) {
		for j, a := range k[:3] {
			if ix := ox - g.pl + j; ix >= 0 && ix < g.w {
				row[ox] += a * line[ix]
			}
		}
	}
	for ox := 0; ox < lo; ox++ {
		edge(ox)
	}
	for ox := hi; ox < g.ow; ox++ {
		edge(ox)
	}
}

// dwConvBackpropInput computes dx, one input plane per task (so no two tasks write the same pixels): the
// adjoint of dwConvForward, summed over the plane's M output channels.
func dwConvBackpropInput[T Float](e *Exec, g convGeometry, w, dy, dx []T) {
	m := g.o / g.c
	hw, ohw, kk := g.h*g.w, g.oh*g.ow, g.kh*g.kw
	job := jobOf[dwConvBackpropInputJob[T]](e)
	job.g, job.w, job.dy, job.dx, job.m, job.hw, job.ohw, job.kk = g, w, dy, dx, m, hw, ohw, kk
	e.parallel(g.n*g.c, job)
}

type dwConvBackpropInputJob[T Float] struct {
	g   convGeometry
	w   []T
	dy  []T
	dx  []T
	m   int
	hw  int
	ohw int
	kk  int
}

func (job *dwConvBackpropInputJob[T]) Run(lo, hi int) {
	g, w, dy, dx, m, hw, ohw, kk := job.g, job.w, job.dy, job.dx, job.m, job.hw, job.ohw, job.kk
	for p := lo; p < hi; p++ {
		n, c := p/g.c, p%g.c
		d := dx[p*hw:][:hw]
		clear(d)
		for mm := 0; mm < m; mm++ {
			o := c*m + mm
			grad := dy[(n*g.o+o)*ohw:][:ohw]
			k := w[o*kk:][:kk]
			for i := 0; i < g.kh; i++ {
				oy0, oy1 := g.tapRows(i)
				for oy := oy0; oy < oy1; oy++ {
					line := d[(oy*g.sh-g.pt+i)*g.w:][:g.w]
					row := grad[oy*g.ow:][:g.ow]
					if g.taps3() {
						backpropInputRow3(g, k[i*3:i*3+3], row, line)
						continue
					}
					for j := 0; j < g.kw; j++ {
						ox0, ox1 := g.tapColumns(j)
						a, ix := k[i*g.kw+j], ox0*g.sw-g.pl+j
						if g.sw == 1 {
							mulAdd(a, row[ox0:ox1], line[ix:])
							continue
						}
						for ox := ox0; ox < ox1; ox++ {
							line[ix] += a * row[ox]
							ix += g.sw
						}
					}
				}
			}
		}
	}
}

// backpropInputRow3 is the adjoint of forwardRow3: line[ix] += Σ_j k[j]·row[ix+pl−j] over the output
// columns in range.
func backpropInputRow3[T Float](g convGeometry, k, row, line []T) {
	k0, k1, k2 := k[0], k[1], k[2]
	// Input columns whose three output columns ix+pl, ix+pl−1, ix+pl−2 are all in [0, ow).
	lo, hi := min(max(0, 2-g.pl), g.w), min(g.w, g.ow-g.pl)
	if hi > lo {
		l := line[lo:hi]
		r0, r1, r2 := row[lo+g.pl:][:len(l)], row[lo+g.pl-1:][:len(l)], row[lo+g.pl-2:][:len(l)]
		for t := range l {
			l[t] += k0*r0[t] + k1*r1[t] + k2*r2[t]
		}
	} else {
		hi = lo
	}
	edge := func(ix int) {
		for j, a := range k[:3] {
			if ox := ix + g.pl - j; ox >= 0 && ox < g.ow {
				line[ix] += a * row[ox]
			}
		}
	}
	for ix := 0; ix < lo; ix++ {
		edge(ix)
	}
	for ix := hi; ix < g.w; ix++ {
		edge(ix)
	}
}

// dwConvBackpropFilter computes dw, one filter per task, summing over the batch and the output plane.
func dwConvBackpropFilter[T Float](e *Exec, g convGeometry, x, dy, dw []T) {
	m := g.o / g.c
	hw, ohw, kk := g.h*g.w, g.oh*g.ow, g.kh*g.kw
	job := jobOf[dwConvBackpropFilterJob[T]](e)
	job.g, job.x, job.dy, job.dw, job.m, job.hw, job.ohw, job.kk = g, x, dy, dw, m, hw, ohw, kk
	e.parallel(g.o, job)
}

type dwConvBackpropFilterJob[T Float] struct {
	g   convGeometry
	x   []T
	dy  []T
	dw  []T
	m   int
	hw  int
	ohw int
	kk  int
}

func (job *dwConvBackpropFilterJob[T]) Run(lo, hi int) {
	g, x, dy, dw, m, hw, ohw, kk := job.g, job.x, job.dy, job.dw, job.m, job.hw, job.ohw, job.kk
	for o := lo; o < hi; o++ {
		acc := dw[o*kk:][:kk]
		clear(acc)
		for n := 0; n < g.n; n++ {
			in := x[(n*g.c+o/m)*hw:][:hw]
			grad := dy[(n*g.o+o)*ohw:][:ohw]
			for i := 0; i < g.kh; i++ {
				oy0, oy1 := g.tapRows(i)
				for oy := oy0; oy < oy1; oy++ {
					line := in[(oy*g.sh-g.pt+i)*g.w:][:g.w]
					row := grad[oy*g.ow:][:g.ow]
					if g.taps3() {
						filterRow3(g, row, line, acc[i*3:i*3+3])
						continue
					}
					for j := 0; j < g.kw; j++ {
						ox0, ox1 := g.tapColumns(j)
						ix := ox0*g.sw - g.pl + j
						if g.sw == 1 {
							acc[i*g.kw+j] += dotRow(row[ox0:ox1], line[ix:])
							continue
						}
						var s T
						for ox := ox0; ox < ox1; ox++ {
							s += row[ox] * line[ix]
							ix += g.sw
						}
						acc[i*g.kw+j] += s
					}
				}
			}
		}
	}
}

// filterRow3 adds one row's contribution to a kernel row's three taps: acc[j] += Σ_ox row[ox]·line[ox−pl+j].
func filterRow3[T Float](g convGeometry, row, line, acc []T) {
	var s0, s1, s2 T
	lo, hi := g.interior3()
	if hi > lo {
		r := row[lo:hi]
		l0, l1, l2 := line[lo-g.pl:][:len(r)], line[lo-g.pl+1:][:len(r)], line[lo-g.pl+2:][:len(r)]
		for t, v := range r {
			s0 += v * l0[t]
			s1 += v * l1[t]
			s2 += v * l2[t]
		}
	} else {
		hi = lo
	}
	edge := func(ox int) {
		for j := range 3 {
			if ix := ox - g.pl + j; ix >= 0 && ix < g.w {
				acc[j] += row[ox] * line[ix]
			}
		}
	}
	for ox := 0; ox < lo; ox++ {
		edge(ox)
	}
	for ox := hi; ox < g.ow; ox++ {
		edge(ox)
	}
	acc[0] += s0
	acc[1] += s1
	acc[2] += s2
}
