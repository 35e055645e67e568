package data

import (
	"fmt"
	"math/rand/v2"
)

// BatchOptions configures a Batcher.
type BatchOptions struct {
	BatchSize int
	// Shuffle permutes the samples each epoch; the permutation of epoch e is a
	// function of (Seed, e) only.
	Shuffle bool
	Seed    uint64
	// Augment, if non-nil, randomly shifts, flips and erases each sample; the draw for the
	// sample at position p of epoch e is a function of (Seed, e, p) only.
	Augment *Augment
	// Norm, if non-nil, standardises pixels; otherwise they are scaled to [0, 1].
	Norm *Standardizer
	// DropLast skips a final batch smaller than BatchSize.
	DropLast bool
}

// Batcher fills caller-owned buffers with batches of a Dataset, in N×C×H×W
// float32 layout plus int32 labels. Because each epoch's order and
// augmentation depend only on (Seed, epoch), a run resumed at epoch e sees
// exactly the batches an uninterrupted run would. Next does not allocate.
// A Batcher is not safe for concurrent use.
type Batcher struct {
	d       *Dataset
	opts    BatchOptions
	aug     Augment
	augment bool
	m, k    []float32 // per C×H×W element: value = (p − m)·k
	fill    []float32 // per C×H×W element: the value of a raw 0 pixel
	perm    []int32
	epoch   int
	pos     int
	pcg     rand.PCG
}

// NewBatcher checks d and opts and returns a Batcher positioned at the start
// of epoch 0.
func NewBatcher(d *Dataset, opts BatchOptions) (*Batcher, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if d.N > 1<<31-1 {
		return nil, fmt.Errorf("data: NewBatcher: %d samples is too many: %w", d.N, ErrArgument)
	}
	if opts.BatchSize <= 0 {
		return nil, fmt.Errorf("data: NewBatcher: batch size %d must be positive: %w", opts.BatchSize, ErrArgument)
	}
	b := &Batcher{d: d, opts: opts}
	if opts.Augment != nil {
		if err := opts.Augment.validate(); err != nil {
			return nil, err
		}
		b.aug = *opts.Augment
		b.augment = b.aug.active()
	}
	b.opts.Augment = nil // the copy in b.aug is authoritative
	if opts.Norm != nil {
		if err := opts.Norm.Validate(); err != nil {
			return nil, err
		}
		if opts.Norm.C != d.C || opts.Norm.H != d.H || opts.Norm.W != d.W {
			return nil, fmt.Errorf("data: NewBatcher: standardizer is %d×%d×%d, dataset is %d×%d×%d: %w",
				opts.Norm.C, opts.Norm.H, opts.Norm.W, d.C, d.H, d.W, ErrArgument)
		}
	}
	size := d.SampleSize()
	b.m, b.k = opts.Norm.affine(size)
	b.fill = make([]float32, size)
	for i := range size {
		b.fill[i] = -b.m[i] * b.k[i]
	}
	b.perm = make([]int32, d.N)
	b.Epoch(0)
	return b, nil
}

// Epoch starts epoch e: the sample order is rebuilt from (Seed, e) and the
// position reset to the first batch.
func (b *Batcher) Epoch(e int) {
	b.epoch, b.pos = e, 0
	for i := range b.perm {
		b.perm[i] = int32(i)
	}
	if !b.opts.Shuffle {
		return
	}
	b.pcg.Seed(splitmix64(b.opts.Seed^streamShuffle), splitmix64(uint64(e)^streamShuffle))
	for i := len(b.perm) - 1; i > 0; i-- { // Fisher–Yates
		j := bounded(&b.pcg, uint64(i+1))
		b.perm[i], b.perm[j] = b.perm[j], b.perm[i]
	}
}

// BatchesPerEpoch is the number of batches Next yields per epoch.
func (b *Batcher) BatchesPerEpoch() int {
	if b.opts.DropLast {
		return b.d.N / b.opts.BatchSize
	}
	return (b.d.N + b.opts.BatchSize - 1) / b.opts.BatchSize
}

// BatchShape is the N×C×H×W shape of a full batch; x passed to Next needs
// at least the product of these values.
func (b *Batcher) BatchShape() [4]int {
	return [4]int{b.opts.BatchSize, b.d.C, b.d.H, b.d.W}
}

// Next fills x (at least BatchSize·C·H·W values) and y (at least BatchSize)
// with the next batch of the current epoch and returns the number of samples
// n; only the first n·C·H·W values of x and n of y are written. n is less
// than BatchSize only for the last batch, and never when DropLast. ok is false
// when the epoch is exhausted; call Epoch to start the next one. Buffers that
// are too small are a programming error and panic.
func (b *Batcher) Next(x []float32, y []int32) (n int, ok bool) {
	bs, size := b.opts.BatchSize, b.d.SampleSize()
	if len(x) < bs*size || len(y) < bs {
		panic(fmt.Sprintf("data: Batcher.Next: buffers of %d values and %d labels, need %d and %d", len(x), len(y), bs*size, bs))
	}
	n = min(bs, b.d.N-b.pos)
	if n <= 0 || (b.opts.DropLast && n < bs) {
		b.pos = b.d.N
		return 0, false
	}
	for i := range n {
		p := b.pos + i
		idx := int(b.perm[p])
		dst := x[i*size : (i+1)*size]
		if b.augment {
			b.writeAugmented(dst, b.d.Image(idx), b.aug.draw(b.opts.Seed, b.epoch, p, b.d.H, b.d.W))
		} else {
			b.write(dst, b.d.Image(idx))
		}
		y[i] = b.d.Labels[idx]
	}
	b.pos += n
	return n, true
}

// write converts one raw H×W×C image into C×H×W values.
func (b *Batcher) write(dst []float32, img []uint8) {
	c := b.d.C
	if c == 1 {
		m, k := b.m[:len(img)], b.k[:len(img)]
		for j, p := range img {
			dst[j] = (float32(p) - m[j]) * k[j]
		}
		return
	}
	hw := b.d.H * b.d.W
	for j, p := range img {
		o := (j%c)*hw + j/c
		dst[o] = (float32(p) - b.m[o]) * b.k[o]
	}
}

// writeAugmented is write with a translation and optional mirror: output
// pixel (y, x) takes input pixel (y−dy, x′), x′ = x−dx, mirrored to W−1−x′
// when t.flip; positions outside the image read as raw 0. Last, t's erased
// rectangle is set to 0 in every channel.
func (b *Batcher) writeAugmented(dst []float32, img []uint8, t transform) {
	c, h, w := b.d.C, b.d.H, b.d.W
	for ch := range c {
		for yy := range h {
			sy := yy - t.dy
			row := (ch*h + yy) * w
			if sy < 0 || sy >= h {
				copy(dst[row:row+w], b.fill[row:row+w])
				continue
			}
			for xx := range w {
				o := row + xx
				sx := xx - t.dx
				if sx < 0 || sx >= w {
					dst[o] = b.fill[o]
					continue
				}
				if t.flip {
					sx = w - 1 - sx
				}
				p := img[(sy*w+sx)*c+ch]
				dst[o] = (float32(p) - b.m[o]) * b.k[o]
			}
		}
	}
	if e := t.erase; e.w > 0 {
		for ch := range c {
			for yy := e.y0; yy < e.y0+e.h; yy++ {
				row := (ch*h+yy)*w + e.x0
				clear(dst[row : row+e.w])
			}
		}
	}
}
