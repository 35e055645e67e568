package graph

import "math"

// Batch normalisation kernels. x is (N, C, inner) in row-major order (inner = H·W for images, 1 for
// dense activations); statistics are per channel over N·inner values, accumulated in float64.

// channelStats returns the mean and the biased variance of channel ch.
func channelStats[T Float](x []T, n, c, inner, ch int) (mean, variance float64) {
	// One pass over deviations from the channel's first value: in float64 that is as accurate as two
	// passes for float32 data, and it halves the memory traffic.
	if n*inner == 0 {
		return math.NaN(), math.NaN() // no values: undefined, as the two-pass formula's 0/0 gave
	}
	shift := float64(x[ch*inner])
	s, ss := deviationSums(channelRows(x, n, c, inner, ch), n, inner, c*inner, shift)
	m := float64(n * inner)
	d := s / m
	return shift + d, max(ss/m-d*d, 0)
}

// channelRows returns the span of x that holds channel ch: n rows of inner values, c·inner apart,
// from the first row's start to the last row's end.
func channelRows[T Float](x []T, n, c, inner, ch int) []T {
	if n*inner == 0 {
		return nil
	}
	return x[ch*inner : ((n-1)*c+ch+1)*inner]
}

// deviationSums returns Σ(v-shift) and Σ(v-shift)² over rows runs of width values, stride apart, in
// float64. The Go loop keeps four accumulators each, so the additions overlap instead of waiting on
// each other; float32 data uses AVX-512 where the CPU has it.
func deviationSums[T Float](x []T, rows, width, stride int, shift float64) (sum, squares float64) {
	if is32[T]() {
		if s, q, ok := deviationSumsFloat32(cast[float32](x), rows, width, stride, shift); ok {
			return s, q
		}
	}
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	for r := 0; r < rows; r++ {
		v := x[r*stride : r*stride+width]
		for len(v) >= 4 {
			d0, d1, d2, d3 := float64(v[0])-shift, float64(v[1])-shift, float64(v[2])-shift, float64(v[3])-shift
			s0, s1, s2, s3 = s0+d0, s1+d1, s2+d2, s3+d3
			q0, q1, q2, q3 = q0+d0*d0, q1+d1*d1, q2+d2*d2, q3+d3*d3
			v = v[4:]
		}
		for _, e := range v {
			d := float64(e) - shift
			s0 += d
			q0 += d * d
		}
	}
	return (s0 + s1) + (s2 + s3), (q0 + q1) + (q2 + q3)
}

// gradSums returns Σdy and Σdy·(x-mean) over rows runs of width values, stride apart, in float64,
// as deviationSums does.
func gradSums[T Float](dy, x []T, rows, width, stride int, mean float64) (sumDy, sumDyDev float64) {
	if is32[T]() {
		if s, p, ok := gradSumsFloat32(cast[float32](dy), cast[float32](x), rows, width, stride, mean); ok {
			return s, p
		}
	}
	var s0, s1, s2, s3, p0, p1, p2, p3 float64
	for r := 0; r < rows; r++ {
		g, v := dy[r*stride:r*stride+width], x[r*stride:r*stride+width]
		for len(g) >= 4 && len(v) >= 4 {
			g0, g1, g2, g3 := float64(g[0]), float64(g[1]), float64(g[2]), float64(g[3])
			s0, s1, s2, s3 = s0+g0, s1+g1, s2+g2, s3+g3
			p0 += g0 * (float64(v[0]) - mean)
			p1 += g1 * (float64(v[1]) - mean)
			p2 += g2 * (float64(v[2]) - mean)
			p3 += g3 * (float64(v[3]) - mean)
			g, v = g[4:], v[4:]
		}
		for j, e := range g {
			s0 += float64(e)
			p0 += float64(e) * (float64(v[j]) - mean)
		}
	}
	return (s0 + s1) + (s2 + s3), (p0 + p1) + (p2 + p3)
}

// normGradRows writes dx = k[0]·(dy-k[1]) - k[3]·(x-k[2]) in float64 over rows runs of width values,
// stride apart.
func normGradRows[T Float](dy, x, dx []T, rows, width, stride int, k *[4]float64) {
	if is32[T]() && normGradRowsFloat32(cast[float32](dy), cast[float32](x), cast[float32](dx), rows, width, stride, k) {
		return
	}
	normGradRowsGo(dy, x, dx, rows, width, stride, k)
}

// normGradRowsGo is normGradRows' Go loop.
func normGradRowsGo[T Float](dy, x, dx []T, rows, width, stride int, k *[4]float64) {
	for r := 0; r < rows; r++ {
		lo, hi := r*stride, r*stride+width
		out, v := dx[lo:hi], x[lo:hi]
		for j, g := range dy[lo:hi] {
			out[j] = T(k[0]*(float64(g)-k[1]) - k[3]*(float64(v[j])-k[2]))
		}
	}
}

// batchMoments returns x's per-channel means in [0, c) and biased variances in [c, 2c), in float64.
// In a training run the forward pass, BatchStats and both gradients all read the same x, so with memos on
// (memo.go) the moments are computed once per run and shared; the buffer planner keeps x's buffer for the
// whole run (buffers.go), so its address names it.
func batchMoments[T Float](e *Exec, n, c, inner int, x []T) []float64 {
	moments, ready := memoFor[float64](e, memoKey{kind: "bn-moments", src: addressOf(x), part: c}, 2*c)
	if ready && e.memoOn {
		return moments
	}
	job := jobOf[momentsJob[T]](e)
	job.n, job.c, job.inner, job.x, job.moments = n, c, inner, x, moments
	e.parallel(c, job)
	return moments
}

type momentsJob[T Float] struct {
	n       int
	c       int
	inner   int
	x       []T
	moments []float64
}

func (job *momentsJob[T]) Run(lo, hi int) {
	for ch := lo; ch < hi; ch++ {
		job.moments[ch], job.moments[job.c+ch] = channelStats(job.x, job.n, job.c, job.inner, ch)
	}
}

// batchStats writes per-channel means to stats[:c] and biased variances to stats[c:].
func batchStats[T Float](e *Exec, n, c, inner int, x, stats []T) {
	for i, v := range batchMoments(e, n, c, inner, x) {
		stats[i] = T(v)
	}
}

// batchNormTrain normalises x with its own batch statistics: y = γ·(x-μ)/√(σ²+ε) + β.
func batchNormTrain[T Float](e *Exec, n, c, inner int, eps float64, x, gamma, beta, y []T) {
	normalise(e, n, c, inner, eps, x, gamma, beta, statistics[T]{moments: batchMoments(e, n, c, inner, x)}, y)
}

// batchNormInfer normalises with given (moving) statistics.
func batchNormInfer[T Float](e *Exec, n, c, inner int, eps float64, x, gamma, beta, mean, variance, y []T) {
	normalise(e, n, c, inner, eps, x, gamma, beta, statistics[T]{mean: mean, variance: variance}, y)
}

// statistics are the per-channel mean and variance a batch normalisation uses: the batch's own moments
// (float64, from batchMoments), or given means and variances (moving statistics).
type statistics[T Float] struct {
	moments        []float64
	mean, variance []T
}

func (s statistics[T]) of(c, ch int) (mean, variance float64) {
	if s.moments != nil {
		return s.moments[ch], s.moments[c+ch]
	}
	return float64(s.mean[ch]), float64(s.variance[ch])
}

// normalise writes y = γ·(x-μ)/√(σ²+ε) + β per channel.
func normalise[T Float](e *Exec, n, c, inner int, eps float64, x, gamma, beta []T, stats statistics[T], y []T) {
	job := jobOf[normaliseJob[T]](e)
	job.n, job.c, job.inner, job.eps, job.x, job.gamma, job.beta, job.stats, job.y = n, c, inner, eps, x, gamma, beta, stats, y
	e.parallel(c, job)
}

type normaliseJob[T Float] struct {
	n     int
	c     int
	inner int
	eps   float64
	x     []T
	gamma []T
	beta  []T
	stats statistics[T]
	y     []T
}

func (job *normaliseJob[T]) Run(lo, hi int) {
	n, c, inner, eps, x, gamma, beta, y := job.n, job.c, job.inner, job.eps, job.x, job.gamma, job.beta, job.y
	for ch := lo; ch < hi; ch++ {
		m, v := job.stats.of(c, ch)
		scale := float64(gamma[ch]) / math.Sqrt(v+eps)
		shift := float64(beta[ch]) - m*scale
		affine(x, y, n, c, inner, ch, T(scale), T(shift))
	}
}

// affine writes y = x·scale + shift for channel ch.
func affine[T Float](x, y []T, n, c, inner, ch int, scale, shift T) {
	affineRows(channelRows(x, n, c, inner, ch), channelRows(y, n, c, inner, ch), n, inner, c*inner, scale, shift)
}

// affineRows writes y = x·scale + shift over rows runs of width values, stride apart.
func affineRows[T Float](x, y []T, rows, width, stride int, scale, shift T) {
	if is32[T]() && affineRowsFloat32(cast[float32](x), cast[float32](y), rows, width, stride, float32(scale), float32(shift)) {
		return
	}
	affineRowsGo(x, y, rows, width, stride, scale, shift)
}

// affineRowsGo is affineRows' Go loop.
func affineRowsGo[T Float](x, y []T, rows, width, stride int, scale, shift T) {
	for r := 0; r < rows; r++ {
		lo, hi := r*stride, r*stride+width
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
	moments := batchMoments(e, n, c, inner, x)
	job := jobOf[batchNormTrainGradJob[T]](e)
	job.n, job.c, job.inner, job.eps, job.m, job.x, job.gamma, job.dy, job.dx, job.moments = n, c, inner, eps, m, x, gamma, dy, dx, moments
	e.parallel(c, job)
}

type batchNormTrainGradJob[T Float] struct {
	n       int
	c       int
	inner   int
	eps     float64
	m       float64
	x       []T
	gamma   []T
	dy      []T
	dx      []T
	moments []float64
}

func (job *batchNormTrainGradJob[T]) Run(lo, hi int) {
	n, c, inner, eps, m, x, gamma, dy, dx := job.n, job.c, job.inner, job.eps, job.m, job.x, job.gamma, job.dy, job.dx
	for ch := lo; ch < hi; ch++ {
		mean, variance := job.moments[ch], job.moments[c+ch]
		inv := 1 / math.Sqrt(variance+eps)
		xs, dys := channelRows(x, n, c, inner, ch), channelRows(dy, n, c, inner, ch)
		sumDy, sumDyDev := gradSums(dys, xs, n, inner, c*inner, mean)
		meanDy, meanDyXhat := sumDy/m, sumDyDev*inv/m
		k := float64(gamma[ch]) * inv
		coef := [4]float64{k, meanDy, mean, k * inv * meanDyXhat}
		normGradRows(dys, xs, channelRows(dx, n, c, inner, ch), n, inner, c*inner, &coef)
	}
}

// gammaGrad is Σ dy·(x-μ)/√(σ²+ε) per channel, with μ and σ² the batch's own statistics when mean is
// nil, or the given (mean, variance) otherwise.
func gammaGrad[T Float](e *Exec, n, c, inner int, eps float64, x, dy, mean, variance, dgamma []T) {
	stats := statistics[T]{mean: mean, variance: variance}
	if mean == nil {
		stats = statistics[T]{moments: batchMoments(e, n, c, inner, x)}
	}
	job := jobOf[gammaGradJob[T]](e)
	job.n, job.c, job.inner, job.eps, job.x, job.dy, job.stats, job.dgamma = n, c, inner, eps, x, dy, stats, dgamma
	e.parallel(c, job)
}

type gammaGradJob[T Float] struct {
	n      int
	c      int
	inner  int
	eps    float64
	x      []T
	dy     []T
	stats  statistics[T]
	dgamma []T
}

func (job *gammaGradJob[T]) Run(lo, hi int) {
	n, c, inner, eps, x, dy, dgamma := job.n, job.c, job.inner, job.eps, job.x, job.dy, job.dgamma
	for ch := lo; ch < hi; ch++ {
		mu, v := job.stats.of(c, ch)
		inv := 1 / math.Sqrt(v+eps)
		_, s := gradSums(channelRows(dy, n, c, inner, ch), channelRows(x, n, c, inner, ch), n, inner, c*inner, mu)
		dgamma[ch] = T(s * inv)
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
