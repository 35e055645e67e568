package graph

import "math"

// Batch normalisation kernels. x is (N, C, inner) in row-major order (inner = H·W for images, 1 for
// dense activations); statistics are per channel over N·inner values, accumulated in float64.

// channelStats returns the mean and the biased variance of channel c.
func channelStats[T Float](x []T, n, c, inner, ch int) (mean, variance float64) {
	var s float64
	for i := 0; i < n; i++ {
		for _, v := range x[(i*c+ch)*inner : (i*c+ch+1)*inner] {
			s += float64(v)
		}
	}
	m := float64(n * inner)
	mean = s / m
	var ss float64
	for i := 0; i < n; i++ {
		for _, v := range x[(i*c+ch)*inner : (i*c+ch+1)*inner] {
			d := float64(v) - mean
			ss += d * d
		}
	}
	return mean, ss / m
}

// batchStats writes per-channel means to stats[:c] and biased variances to stats[c:].
func batchStats[T Float](e *Exec, n, c, inner int, x, stats []T) {
	job := jobOf[batchStatsJob[T]](e)
	job.n, job.c, job.inner, job.x, job.stats = n, c, inner, x, stats
	e.parallel(c, job)
}

type batchStatsJob[T Float] struct {
	n     int
	c     int
	inner int
	x     []T
	stats []T
}

func (job *batchStatsJob[T]) Run(lo, hi int) {
	n, c, inner, x, stats := job.n, job.c, job.inner, job.x, job.stats
	for ch := lo; ch < hi; ch++ {
		m, v := channelStats(x, n, c, inner, ch)
		stats[ch], stats[c+ch] = T(m), T(v)
	}
}

// batchNormTrain normalises x with its own batch statistics: y = γ·(x-μ)/√(σ²+ε) + β.
func batchNormTrain[T Float](e *Exec, n, c, inner int, eps float64, x, gamma, beta, y []T) {
	job := jobOf[batchNormTrainJob[T]](e)
	job.n, job.c, job.inner, job.eps, job.x, job.gamma, job.beta, job.y = n, c, inner, eps, x, gamma, beta, y
	e.parallel(c, job)
}

type batchNormTrainJob[T Float] struct {
	n     int
	c     int
	inner int
	eps   float64
	x     []T
	gamma []T
	beta  []T
	y     []T
}

func (job *batchNormTrainJob[T]) Run(lo, hi int) {
	n, c, inner, eps, x, gamma, beta, y := job.n, job.c, job.inner, job.eps, job.x, job.gamma, job.beta, job.y
	for ch := lo; ch < hi; ch++ {
		m, v := channelStats(x, n, c, inner, ch)
		scale := float64(gamma[ch]) / math.Sqrt(v+eps)
		shift := float64(beta[ch]) - m*scale
		affine(x, y, n, c, inner, ch, T(scale), T(shift))
	}
}

// affine writes y = x·scale + shift for channel ch.
func affine[T Float](x, y []T, n, c, inner, ch int, scale, shift T) {
	for i := 0; i < n; i++ {
		lo, hi := (i*c+ch)*inner, (i*c+ch+1)*inner
		ys := y[lo:hi]
		for j, v := range x[lo:hi] {
			ys[j] = v*scale + shift
		}
	}
}

// batchNormTrainGrad is the gradient of batchNormTrain with respect to x:
// dx = γ/√(σ²+ε) · (dy - mean(dy) - x̂·mean(dy·x̂)), with x̂ = (x-μ)/√(σ²+ε).
func batchNormTrainGrad[T Float](e *Exec, n, c, inner int, eps float64, x, gamma, dy, dx []T) {
	m := float64(n * inner)
	job := jobOf[batchNormTrainGradJob[T]](e)
	job.n, job.c, job.inner, job.eps, job.m, job.x, job.gamma, job.dy, job.dx = n, c, inner, eps, m, x, gamma, dy, dx
	e.parallel(c, job)
}

type batchNormTrainGradJob[T Float] struct {
	n     int
	c     int
	inner int
	eps   float64
	m     float64
	x     []T
	gamma []T
	dy    []T
	dx    []T
}

func (job *batchNormTrainGradJob[T]) Run(lo, hi int) {
	n, c, inner, eps, m, x, gamma, dy, dx := job.n, job.c, job.inner, job.eps, job.m, job.x, job.gamma, job.dy, job.dx
	for ch := lo; ch < hi; ch++ {
		mean, variance := channelStats(x, n, c, inner, ch)
		inv := 1 / math.Sqrt(variance+eps)
		var sumDy, sumDyXhat float64
		for i := 0; i < n; i++ {
			k0, k1 := (i*c+ch)*inner, (i*c+ch+1)*inner
			for j, g := range dy[k0:k1] {
				sumDy += float64(g)
				sumDyXhat += float64(g) * (float64(x[k0+j]) - mean) * inv
			}
		}
		meanDy, meanDyXhat := sumDy/m, sumDyXhat/m
		k := float64(gamma[ch]) * inv
		for i := 0; i < n; i++ {
			k0, k1 := (i*c+ch)*inner, (i*c+ch+1)*inner
			out := dx[k0:k1]
			for j, g := range dy[k0:k1] {
				xhat := (float64(x[k0+j]) - mean) * inv
				out[j] = T(k * (float64(g) - meanDy - xhat*meanDyXhat))
			}
		}
	}
}

// gammaGrad is Σ dy·(x-μ)/√(σ²+ε) per channel, with μ and σ² the batch's own statistics when stats is
// nil, or the given (mean, variance) otherwise.
func gammaGrad[T Float](e *Exec, n, c, inner int, eps float64, x, dy, mean, variance, dgamma []T) {
	job := jobOf[gammaGradJob[T]](e)
	job.n, job.c, job.inner, job.eps, job.x, job.dy, job.mean, job.variance, job.dgamma = n, c, inner, eps, x, dy, mean, variance, dgamma
	e.parallel(c, job)
}

type gammaGradJob[T Float] struct {
	n        int
	c        int
	inner    int
	eps      float64
	x        []T
	dy       []T
	mean     []T
	variance []T
	dgamma   []T
}

func (job *gammaGradJob[T]) Run(lo, hi int) {
	n, c, inner, eps, x, dy, mean, variance, dgamma := job.n, job.c, job.inner, job.eps, job.x, job.dy, job.mean, job.variance, job.dgamma
	for ch := lo; ch < hi; ch++ {
		var mu, v float64
		if mean == nil {
			mu, v = channelStats(x, n, c, inner, ch)
		} else {
			mu, v = float64(mean[ch]), float64(variance[ch])
		}
		inv := 1 / math.Sqrt(v+eps)
		var s float64
		for i := 0; i < n; i++ {
			k0, k1 := (i*c+ch)*inner, (i*c+ch+1)*inner
			for j, g := range dy[k0:k1] {
				s += float64(g) * (float64(x[k0+j]) - mu)
			}
		}
		dgamma[ch] = T(s * inv)
	}
}

// batchNormInfer normalises with given (moving) statistics.
func batchNormInfer[T Float](e *Exec, n, c, inner int, eps float64, x, gamma, beta, mean, variance, y []T) {
	job := jobOf[batchNormInferJob[T]](e)
	job.n, job.c, job.inner, job.eps, job.x, job.gamma, job.beta, job.mean, job.variance, job.y = n, c, inner, eps, x, gamma, beta, mean, variance, y
	e.parallel(c, job)
}

type batchNormInferJob[T Float] struct {
	n        int
	c        int
	inner    int
	eps      float64
	x        []T
	gamma    []T
	beta     []T
	mean     []T
	variance []T
	y        []T
}

func (job *batchNormInferJob[T]) Run(lo, hi int) {
	n, c, inner, eps, x, gamma, beta, mean, variance, y := job.n, job.c, job.inner, job.eps, job.x, job.gamma, job.beta, job.mean, job.variance, job.y
	for ch := lo; ch < hi; ch++ {
		scale := float64(gamma[ch]) / math.Sqrt(float64(variance[ch])+eps)
		shift := float64(beta[ch]) - float64(mean[ch])*scale
		affine(x, y, n, c, inner, ch, T(scale), T(shift))
	}
}

// batchNormInferGrad is dx = dy·γ/√(σ²+ε) with fixed statistics.
func batchNormInferGrad[T Float](e *Exec, n, c, inner int, eps float64, gamma, variance, dy, dx []T) {
	job := jobOf[batchNormInferGradJob[T]](e)
	job.n, job.c, job.inner, job.eps, job.gamma, job.variance, job.dy, job.dx = n, c, inner, eps, gamma, variance, dy, dx
	e.parallel(c, job)
}

type batchNormInferGradJob[T Float] struct {
	n        int
	c        int
	inner    int
	eps      float64
	gamma    []T
	variance []T
	dy       []T
	dx       []T
}

func (job *batchNormInferGradJob[T]) Run(lo, hi int) {
	n, c, inner, eps, gamma, variance, dy, dx := job.n, job.c, job.inner, job.eps, job.gamma, job.variance, job.dy, job.dx
	for ch := lo; ch < hi; ch++ {
		scale := float64(gamma[ch]) / math.Sqrt(float64(variance[ch])+eps)
		affine(dy, dx, n, c, inner, ch, T(scale), 0)
	}
}
