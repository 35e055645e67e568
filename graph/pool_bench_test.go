package graph

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMaxPool3x3 times SqueezeNet's first pooling (3×3, stride 2, valid) on a batch of 8.
func BenchmarkMaxPool3x3(b *testing.B) {
	g, err := Window{KH: 3, KW: 3, StrideH: 2, StrideW: 2}.geometry("bench", []int{8, 64, 111, 111})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 8*64*111*111)
	for i := range x {
		x[i] = rng.Float32()
	}
	y := make([]float32, 8*64*55*55)
	dx := make([]float32, len(x))
	e := NewExec(1)
	defer e.Close()
	b.Run("forward", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			maxPool(e, g, x, y)
		}
	})
	b.Run("gradient", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			maxPoolGrad(e, g, x, y, y, dx, false)
		}
	})
}
