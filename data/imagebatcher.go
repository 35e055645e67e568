package data

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// streamCrop separates the training crops' random stream from the others (see rng.go).
const streamCrop uint64 = 0x43726f70466c6970 // "CropFlip"

// EvalCrop chooses the crop of an evaluation (Train false) ImageBatcher.
type EvalCrop int

const (
	// EvalCenterSquare takes the centred square of side min(h, w) (CenterSquareCrop).
	EvalCenterSquare EvalCrop = iota
	// EvalBookCentral takes the book notebook's central_crop (BookCentralCrop), which is not square.
	EvalBookCentral
)

// ImageBatchOptions configures an ImageBatcher.
type ImageBatchOptions struct {
	BatchSize int
	// Size is the side of the square network input; 0 means 224.
	Size int
	// Train selects the book's training augmentation (Géron's preprocess with randomize=True): a random
	// square crop of 90% of the shorter side (RandomCrop), mirrored with probability 1/2, resized to
	// Size×Size. The draw for the photo at position p of epoch e is a function of (Seed, e, p) only.
	// Otherwise every photo is cropped by EvalCrop and resized.
	Train bool
	// EvalCrop is the crop used when Train is false.
	EvalCrop EvalCrop
	// Shuffle permutes the photos each epoch; the permutation of epoch e is a function of (Seed, e) only.
	Shuffle bool
	Seed    uint64
	// Norm maps resized values v ∈ [0, 255] of source channel Order[c] to output channel c as
	// (v − Mean[c])·Scale[c], e.g. ScaleToUnit(3) for Xception, CaffeBGR() for SqueezeNet. The zero value
	// keeps the raw resized values, which is what tf.image.resize returns.
	Norm ChannelNorm
	// DropLast skips a final batch smaller than BatchSize.
	DropLast bool
	// Workers is the number of goroutines that prepare a batch (the caller's included); 0 means
	// GOMAXPROCS.
	Workers int
}

// maxInputSide bounds ImageBatchOptions.Size.
const maxInputSide = 4096

// ImageBatcher fills caller-owned buffers with batches of photos, each cropped, optionally mirrored,
// resized to Size×Size with ResizeBilinear's arithmetic and normalised, in N×3×Size×Size float32 layout,
// plus int32 labels. It has the methods of Batcher that a training loop uses (Epoch, Next,
// BatchesPerEpoch, BatchShape), with the same guarantees: each epoch's order and crops depend only on
// (Seed, epoch), so a resumed run sees exactly the batches of an uninterrupted one, and they do not
// depend on Workers. The photos of a batch are prepared on Workers goroutines (started once, by
// NewImageBatcher); Next does not allocate.
//
// An ImageBatcher is not safe for concurrent use. Close stops its goroutines; one that becomes
// unreachable without Close is stopped by the garbage collector.
type ImageBatcher struct {
	e *imageEngine
}

// imageEngine is the state shared with the worker goroutines; it never points back to the
// ImageBatcher, so that the ImageBatcher can become unreachable while the workers wait.
type imageEngine struct {
	imgs  *Images
	opts  ImageBatchOptions
	size  int // values per image: 3·Size·Size
	norm  planeNorm
	perm  []int32
	epoch int
	pos   int
	pcg   rand.PCG

	// The batch being prepared: written by Next before it wakes the helpers, read by them.
	x    []float32
	base int
	n    int
	next atomic.Int64

	res   []resampler     // one per worker; res[0] is the caller's
	start []chan struct{} // one per helper goroutine: a value means "work on the batch", close means "exit"
	done  chan struct{}
	stop  sync.Once
}

// NewImageBatcher checks imgs and opts, starts the helper goroutines and returns an ImageBatcher
// positioned at the start of epoch 0.
func NewImageBatcher(imgs *Images, opts ImageBatchOptions) (*ImageBatcher, error) {
	if err := imgs.Validate(); err != nil {
		return nil, err
	}
	if opts.BatchSize <= 0 {
		return nil, fmt.Errorf("data: NewImageBatcher: batch size %d must be positive: %w", opts.BatchSize, ErrArgument)
	}
	if opts.Size == 0 {
		opts.Size = 224
	}
	if opts.Size < 0 || opts.Size > maxInputSide {
		return nil, fmt.Errorf("data: NewImageBatcher: size %d must be in [1, %d]: %w", opts.Size, maxInputSide, ErrArgument)
	}
	if opts.EvalCrop != EvalCenterSquare && opts.EvalCrop != EvalBookCentral {
		return nil, fmt.Errorf("data: NewImageBatcher: unknown evaluation crop %d: %w", opts.EvalCrop, ErrArgument)
	}
	if opts.Norm.Mean != nil || opts.Norm.Scale != nil || opts.Norm.Order != nil {
		if err := opts.Norm.Validate(3); err != nil {
			return nil, err
		}
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, opts.BatchSize))
	hw := opts.Size * opts.Size
	e := &imageEngine{
		imgs: imgs, opts: opts, size: 3 * hw, norm: newPlaneNorm(opts.Norm, hw),
		perm: make([]int32, imgs.Len()), res: make([]resampler, workers),
		start: make([]chan struct{}, workers-1), done: make(chan struct{}, workers),
	}
	for k := range e.start {
		e.start[k] = make(chan struct{}, 1)
		go e.helper(k+1, e.start[k])
	}
	b := &ImageBatcher{e: e}
	runtime.AddCleanup(b, func(e *imageEngine) { e.close() }, e)
	b.Epoch(0)
	return b, nil
}

// helper prepares photos of the current batch each time it is woken, until its channel is closed.
func (e *imageEngine) helper(k int, wake <-chan struct{}) {
	for range wake {
		e.work(k)
		e.done <- struct{}{}
	}
}

// close stops the helpers.
func (e *imageEngine) close() {
	e.stop.Do(func() {
		for _, c := range e.start {
			close(c)
		}
		e.start = nil
	})
}

// Close stops the helper goroutines; later batches are prepared by the caller's goroutine alone (and
// are the same). Close is idempotent.
func (b *ImageBatcher) Close() { b.e.close() }

// Len is the number of photos per epoch.
func (b *ImageBatcher) Len() int { return b.e.imgs.Len() }

// Epoch starts epoch e: the photo order is rebuilt from (Seed, e) and the position reset to the first
// batch.
func (b *ImageBatcher) Epoch(ep int) {
	e := b.e
	e.epoch, e.pos = ep, 0
	for i := range e.perm {
		e.perm[i] = int32(i)
	}
	if !e.opts.Shuffle {
		return
	}
	e.pcg.Seed(splitmix64(e.opts.Seed^streamShuffle), splitmix64(uint64(ep)^streamShuffle))
	for i := len(e.perm) - 1; i > 0; i-- { // Fisher–Yates
		j := bounded(&e.pcg, uint64(i+1))
		e.perm[i], e.perm[j] = e.perm[j], e.perm[i]
	}
}

// BatchesPerEpoch is the number of batches Next yields per epoch.
func (b *ImageBatcher) BatchesPerEpoch() int {
	n, bs := b.e.imgs.Len(), b.e.opts.BatchSize
	if b.e.opts.DropLast {
		return n / bs
	}
	return (n + bs - 1) / bs
}

// BatchShape is the N×C×H×W shape of a full batch: BatchSize×3×Size×Size.
func (b *ImageBatcher) BatchShape() [4]int {
	return [4]int{b.e.opts.BatchSize, 3, b.e.opts.Size, b.e.opts.Size}
}

// Next fills x (at least BatchSize·3·Size·Size values) and y (at least BatchSize) with the next batch of
// the current epoch and returns the number of photos n; only the first n·3·Size·Size values of x and n of
// y are written. n is less than BatchSize only for the last batch, and never when DropLast. ok is false
// when the epoch is exhausted; call Epoch to start the next one. Buffers that are too small are a
// programming error and panic.
func (b *ImageBatcher) Next(x []float32, y []int32) (n int, ok bool) {
	e := b.e
	bs, total := e.opts.BatchSize, e.imgs.Len()
	if len(x) < bs*e.size || len(y) < bs {
		panic(fmt.Sprintf("data: ImageBatcher.Next: buffers of %d values and %d labels, need %d and %d", len(x), len(y), bs*e.size, bs))
	}
	n = min(bs, total-e.pos)
	if n <= 0 || (e.opts.DropLast && n < bs) {
		e.pos = total
		return 0, false
	}
	for i := range n {
		y[i] = e.imgs.Labels[e.perm[e.pos+i]]
	}
	e.x, e.base, e.n = x, e.pos, n
	e.next.Store(0)
	helpers := min(len(e.start), n-1)
	for k := range helpers {
		e.start[k] <- struct{}{}
	}
	e.work(0)
	for range helpers {
		<-e.done
	}
	e.x = nil
	e.pos += n
	return n, true
}

// work prepares photos of the current batch, claimed one at a time, with worker k's buffers.
func (e *imageEngine) work(k int) {
	r := &e.res[k]
	for {
		i := int(e.next.Add(1) - 1)
		if i >= e.n {
			return
		}
		p := e.base + i
		ph := e.imgs.Photos[e.perm[p]]
		r.prepare(ph, e.crop(ph, p), e.opts.Size, e.opts.Size)
		r.nchw(e.x[i*e.size:(i+1)*e.size], ph, &e.norm)
	}
}

// crop is the crop of photo ph at position p of the current epoch.
func (e *imageEngine) crop(ph Photo, p int) Crop {
	switch {
	case e.opts.Train:
		return RandomCrop(ph.H, ph.W, hash3(e.opts.Seed, streamCrop, uint64(e.epoch), uint64(p)))
	case e.opts.EvalCrop == EvalBookCentral:
		return BookCentralCrop(ph.H, ph.W)
	default:
		return CenterSquareCrop(ph.H, ph.W)
	}
}
