package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkConvBackpropFilter times the kernel gradient of the CNN's 3×3 convolutions at batch 32.
func BenchmarkConvBackpropFilter(b *testing.B) {
	for _, s := range []struct{ c, h, o int }{{64, 14, 128}, {128, 14, 128}, {128, 7, 256}, {256, 7, 256}} {
		b.Run(fmt.Sprintf("c%d_h%d_o%d", s.c, s.h, s.o), func(b *testing.B) {
			pad, _ := Pad2D(Same, s.h, s.h, 3, 3, 1, 1)
			g, err := newConvGeometry(32, s.c, s.h, s.h, s.o, 3, 3, 1, 1, pad)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			x := make([]float32, 32*s.c*s.h*s.h)
			dy := make([]float32, 32*s.o*s.h*s.h)
			for i := range x {
				x[i] = rng.Float32()
			}
			for i := range dy {
				dy[i] = rng.Float32()
			}
			dw := make([]float32, s.o*s.c*9)
			e := NewExec(2)
			defer e.Close()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := convBackpropFilter(e, g, x, dy, dw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
