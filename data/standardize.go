package data

import (
	"fmt"
	"math"
)

// StdEpsilon is added to every per-pixel standard deviation, as in Géron's
// X_std = X_train.std(axis=0) + 1e-7, so constant pixels do not divide by zero.
const StdEpsilon = 1e-7

// Standardizer holds per-pixel statistics of a training set, over pixel values
// scaled to [0, 1]. Mean and Std have C·H·W entries in C×H×W order (the
// layout of a batch sample). A standardised value is (p/255 − Mean) / Std.
// It is plain data, so it can be saved with a checkpoint.
type Standardizer struct {
	C, H, W int
	Mean    []float32
	Std     []float32 // population standard deviation + StdEpsilon
}

// FitStandardizer computes per-pixel mean and standard deviation (population,
// numpy's default) over all images of d. It accumulates in float64.
func FitStandardizer(d *Dataset) *Standardizer {
	c, h, w := d.C, d.H, d.W
	size := c * h * w
	sum := make([]float64, size)
	sq := make([]float64, size)
	for i := range d.N {
		img := d.Image(i)
		for j, p := range img { // j is the HWC index
			v := float64(p) / 255
			sum[j] += v
			sq[j] += v * v
		}
	}
	s := &Standardizer{C: c, H: h, W: w, Mean: make([]float32, size), Std: make([]float32, size)}
	n := float64(max(d.N, 1))
	for j := range size {
		mean := sum[j] / n
		variance := max(sq[j]/n-mean*mean, 0)
		// HWC index j → CHW index.
		ch, pix := j%c, j/c
		k := ch*h*w + pix
		s.Mean[k] = float32(mean)
		s.Std[k] = float32(math.Sqrt(variance) + StdEpsilon)
	}
	return s
}

// Validate checks the shapes and that every Std is positive and finite.
func (s *Standardizer) Validate() error {
	if s == nil {
		return fmt.Errorf("data: nil standardizer: %w", ErrArgument)
	}
	size := s.C * s.H * s.W
	if s.C <= 0 || s.H <= 0 || s.W <= 0 || len(s.Mean) != size || len(s.Std) != size {
		return fmt.Errorf("data: standardizer %d×%d×%d with %d means and %d stds: %w", s.C, s.H, s.W, len(s.Mean), len(s.Std), ErrArgument)
	}
	for i, v := range s.Std {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("data: standardizer std[%d] = %v: %w", i, v, ErrArgument)
		}
	}
	for i, v := range s.Mean {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("data: standardizer mean[%d] = %v: %w", i, v, ErrArgument)
		}
	}
	return nil
}

// affine returns, per CHW element, m and k such that the standardised value of
// raw byte p is (p − m)·k. Writing it this way keeps a constant pixel exactly
// at 0 (p − m is exact) instead of amplifying rounding error by 1/StdEpsilon.
// A nil standardizer gives plain scaling to [0, 1].
func (s *Standardizer) affine(size int) (m, k []float32) {
	m = make([]float32, size)
	k = make([]float32, size)
	for i := range size {
		if s == nil {
			k[i] = 1.0 / 255
			continue
		}
		m[i] = float32(255 * float64(s.Mean[i]))
		k[i] = float32(1 / (255 * float64(s.Std[i])))
	}
	return m, k
}

// Normalize writes the standardised image img (raw H×W×C bytes) into dst in
// C×H×W order. It is for one-off use (inference, plots); batches use Batcher.
func (s *Standardizer) Normalize(dst []float32, img []uint8) error {
	if err := s.Validate(); err != nil {
		return err
	}
	size := s.C * s.H * s.W
	if len(img) != size || len(dst) < size {
		return fmt.Errorf("data: Normalize: image of %d bytes, dst of %d, expected %d: %w", len(img), len(dst), size, ErrArgument)
	}
	hw := s.H * s.W
	for j, p := range img {
		k := (j%s.C)*hw + j/s.C
		dst[k] = (float32(p)/255 - s.Mean[k]) / s.Std[k]
	}
	return nil
}
