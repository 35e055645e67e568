package gemm

import (
	"fmt"
	"testing"
)

// TestPack checks both packers against their definitions for every float32
// kernel (each may bring its own transpose) and all transpose flags,
// including partial panels and k blocks that are not multiples of 16.
func TestPack(t *testing.T) {
	tests := []struct{ rows, cols, r0, c0, mc, kc, pad int }{
		{1, 1, 0, 0, 1, 1, 0},
		{40, 70, 3, 5, 37, 65, 2},
		{100, 33, 0, 1, 100, 32, 0},
		{64, 300, 0, 0, 64, 256, 7},
		{130, 130, 2, 2, 128, 128, 1},
	}
	for _, kern := range kernels32() {
		for _, tt := range tests {
			for _, trans := range []bool{false, true} {
				name := fmt.Sprintf("%s/%+v/trans=%v", kern.name, tt, trans)
				// src is the stored matrix; op(src)[i][p] is what gets packed.
				srows, scols := tt.rows, tt.cols
				if trans {
					srows, scols = tt.cols, tt.rows
				}
				ld := scols + tt.pad
				src := make([]float32, srows*ld)
				for i := range src {
					src[i] = float32(i + 1)
				}
				op := func(i, p int) float32 {
					if trans {
						return src[p*ld+i]
					}
					return src[i*ld+p]
				}
				// packA: mc rows from r0, kc steps from c0.
				mr := kern.mr
				panels := (tt.mc + mr - 1) / mr
				dst := make([]float32, panels*mr*tt.kc)
				for i := range dst {
					dst[i] = -1
				}
				packA(kern, trans, src, ld, tt.r0, tt.mc, tt.c0, tt.kc, mr, dst)
				for q := range panels {
					for p := range tt.kc {
						for r := range mr {
							want := float32(0)
							if i := q*mr + r; i < tt.mc {
								want = op(tt.r0+i, tt.c0+p)
							}
							if got := dst[q*mr*tt.kc+p*mr+r]; got != want {
								t.Fatalf("packA %s: panel %d p %d r %d = %v, want %v", name, q, p, r, got, want)
							}
						}
					}
				}
				// packB: op(B) is k×n = rows×cols here; kc rows from r0, mc
				// columns from c0 (reusing the table's extents).
				kc, nc := min(tt.kc, tt.rows-tt.r0), min(tt.mc, tt.cols-tt.c0)
				opB := func(p, j int) float32 {
					if trans {
						return src[j*ld+p]
					}
					return src[p*ld+j]
				}
				if trans {
					// Stored n×k: op(B)[p][j] = src[j*ld+p] needs cols ≤ srows.
					kc, nc = min(tt.kc, scols-tt.r0), min(tt.mc, srows-tt.c0)
				} else {
					kc, nc = min(tt.kc, srows-tt.r0), min(tt.mc, scols-tt.c0)
				}
				if kc <= 0 || nc <= 0 {
					continue
				}
				nr := kern.nr
				panels = (nc + nr - 1) / nr
				dst = make([]float32, panels*nr*kc)
				packB(kern, trans, src, ld, tt.r0, kc, tt.c0, nc, nr, dst)
				for q := range panels {
					for p := range kc {
						for j := range nr {
							want := float32(0)
							if c := q*nr + j; c < nc {
								want = opB(tt.r0+p, tt.c0+c)
							}
							if got := dst[q*nr*kc+p*nr+j]; got != want {
								t.Fatalf("packB %s: panel %d p %d j %d = %v, want %v", name, q, p, j, got, want)
							}
						}
					}
				}
			}
		}
	}
}

// TestKernelBlocking checks the invariants the workspace sizes rely on.
func TestKernelBlocking(t *testing.T) {
	check := func(name string, mr, nr, mc, kc, nc int) {
		if mc%mr != 0 || nc%nr != 0 || kc%16 != 0 || mc <= 0 || nc <= 0 || kc <= 0 {
			t.Errorf("%s: mr=%d nr=%d mc=%d kc=%d nc=%d", name, mr, nr, mc, kc, nc)
		}
	}
	for _, k := range kernels32() {
		check(k.name, k.mr, k.nr, k.mc, k.kc, k.nc)
	}
	for _, k := range kernels64() {
		check(k.name+"(f64)", k.mr, k.nr, k.mc, k.kc, k.nc)
	}
}
