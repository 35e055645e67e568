package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// naiveColumn is element (row, col) of the im2col matrix of images [n0, …) of x, by definition.
func naiveColumn(g convGeometry, x []float32, n0, row, col int) float32 {
	c := row / g.nLive
	i, j := g.tap(row % g.nLive)
	ohw := g.oh * g.ow
	b, pos := n0+col/ohw, col%ohw
	iy := pos/g.ow*g.sh - g.pt + i
	ix := pos%g.ow*g.sw - g.pl + j
	if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
		return 0
	}
	return x[((b*g.c+c)*g.h+iy)*g.w+ix]
}

// TestColumnSourceMatchesIm2col checks the implicit GEMM's column source in float32 (the vector gather
// and row-copy paths) against the definition of im2col, over blocks that start and end mid-row and
// mid-image, for strides 1 and 2, SAME and VALID padding, and maps with dead taps.
func TestColumnSourceMatchesIm2col(t *testing.T) {
	cases := []struct {
		n, c, h, w, o, k, s int
		mode                PaddingMode
	}{
		{4, 3, 14, 14, 2, 3, 1, Same},
		{3, 2, 7, 7, 2, 3, 1, Same},
		{2, 1, 28, 28, 2, 7, 1, Same},
		{3, 2, 9, 8, 2, 3, 2, Same},
		{2, 2, 8, 8, 2, 3, 2, Same},
		{2, 3, 10, 6, 2, 3, 1, Valid},
		{3, 2, 1, 1, 2, 3, 1, Same},
		{2, 2, 5, 40, 2, 3, 1, Same}, // rows wider than one vector
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%dx%dx%dx%d_k%d_s%d_%v", tc.n, tc.c, tc.h, tc.w, tc.k, tc.s, tc.mode), func(t *testing.T) {
			pad, err := Pad2D(tc.mode, tc.h, tc.w, tc.k, tc.k, tc.s, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			g, err := newConvGeometry(tc.n, tc.c, tc.h, tc.w, tc.o, tc.k, tc.k, tc.s, tc.s, pad)
			if err != nil {
				t.Fatal(err)
			}
			x := make([]float32, tc.n*tc.c*tc.h*tc.w)
			for i := range x {
				x[i] = float32(i + 1) // every pixel distinct and non-zero
			}
			e := NewExec(1)
			defer e.Close()
			n0, nb := 1, tc.n-1
			src := columnsOf(e, g, x, n0, nb)
			rows, cols := g.k(), nb*g.oh*g.ow
			across := src.across
			for trial := 0; trial < 200; trial++ {
				// Half the trials take the per-image path that batches too large for int32 offsets
				// across images use.
				src.across = across && trial%2 == 0
				r0 := rng.IntN(rows)
				nr := 1 + rng.IntN(min(4, rows-r0))
				c0 := rng.IntN(cols)
				nc := 1 + rng.IntN(cols-c0)
				dst := make([]float32, nr*nc)
				src.Rows(dst, r0, nr, c0, nc)
				for r := 0; r < nr; r++ {
					for c := 0; c < nc; c++ {
						if got, want := dst[r*nc+c], naiveColumn(g, x, n0, r0+r, c0+c); got != want {
							t.Fatalf("rows [%d,+%d) cols [%d,+%d): element (%d,%d) = %v, want %v", r0, nr, c0, nc, r0+r, c0+c, got, want)
						}
					}
				}
			}
		})
	}
}
