package graph

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkBatchNormTrain times one training step's BatchNorm kernels (forward, statistics, input and
// γ gradients) on ResNet-34's first-stage maps for a batch of 64: 28×28 inputs give 7×7 maps, 56×56
// inputs 14×14.
func BenchmarkBatchNormTrain(b *testing.B) {
	for _, bc := range []struct {
		name        string
		n, c, inner int
	}{
		{"64x64x7x7", 64, 64, 7 * 7},
		{"64x64x14x14", 64, 64, 14 * 14},
	} {
		rng := rand.New(rand.NewPCG(1, 2))
		size := bc.n * bc.c * bc.inner
		x, dy := make([]float32, size), make([]float32, size)
		for i := range x {
			x[i], dy[i] = 3*rng.Float32()+1, rng.Float32()-0.5
		}
		gamma, beta := make([]float32, bc.c), make([]float32, bc.c)
		for i := range gamma {
			gamma[i], beta[i] = 1+rng.Float32(), rng.Float32()
		}
		y, dx := make([]float32, size), make([]float32, size)
		stats, dgamma := make([]float32, 2*bc.c), make([]float32, bc.c)
		e := NewExec(1)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(4 * size))
			for i := 0; i < b.N; i++ {
				batchStats(e, bc.n, bc.c, bc.inner, x, stats)
				batchNormTrain(e, bc.n, bc.c, bc.inner, 1e-3, x, gamma, beta, y)
				batchNormTrainGrad(e, bc.n, bc.c, bc.inner, 1e-3, x, gamma, dy, dx)
				gammaGrad(e, bc.n, bc.c, bc.inner, 1e-3, x, dy, nil, nil, dgamma)
			}
		})
		e.Close()
	}
}
