package data

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// batchSource is the interface the training loop consumes (training.BatchSource): both batchers must
// satisfy exactly it.
type batchSource interface {
	Epoch(int)
	Next(x []float32, y []int32) (int, bool)
	BatchesPerEpoch() int
}

var (
	_ batchSource = (*Batcher)(nil)
	_ batchSource = (*ImageBatcher)(nil)
)

// synthImages is n photos of assorted sizes (portrait, landscape, square), photo i labelled i so that
// batches reveal which photos they hold.
func synthImages(n int) *Images {
	m := &Images{}
	for i := range n {
		h, w := 20+i%7, 25+(i*3)%11
		if i%3 == 0 {
			h, w = w, h
		}
		m.Photos = append(m.Photos, testPhoto(h, w, uint64(i)))
		m.Labels = append(m.Labels, int32(i))
		m.ClassNames = append(m.ClassNames, fmt.Sprint(i))
	}
	return m
}

// sourceEpoch runs epoch e of src and returns copies of every batch.
func sourceEpoch(t testing.TB, src batchSource, shape [4]int, e int) (xs [][]float32, ys [][]int32) {
	t.Helper()
	per := shape[1] * shape[2] * shape[3]
	x, y := make([]float32, shape[0]*per), make([]int32, shape[0])
	src.Epoch(e)
	for n, ok := src.Next(x, y); ok; n, ok = src.Next(x, y) {
		xs = append(xs, slices.Clone(x[:n*per]))
		ys = append(ys, slices.Clone(y[:n]))
	}
	if len(ys) != src.BatchesPerEpoch() {
		t.Fatalf("epoch %d gave %d batches, BatchesPerEpoch says %d", e, len(ys), src.BatchesPerEpoch())
	}
	return xs, ys
}

// expectedImage is the input ImageBatcher should produce for photo p with crop c: ResizeBilinear, then
// the channel normalisation, as NCHW.
func expectedImage(t testing.TB, p Photo, c Crop, size int, norm ChannelNorm) []float32 {
	t.Helper()
	hwc, err := ResizeBilinear(p, c, size, size)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, 3*size*size)
	for oc := range 3 {
		src, mean, scale := norm.Source(oc), float32(0), float32(1)
		if norm.Mean != nil {
			mean, scale = norm.Mean[oc], norm.Scale[oc]
		}
		for j := range size * size {
			out[oc*size*size+j] = (hwc[3*j+src] - mean) * scale
		}
	}
	return out
}

func TestImageBatcherContent(t *testing.T) {
	m := synthImages(23)
	const size = 16
	cases := []struct {
		name string
		opts ImageBatchOptions
		crop func(p Photo, epoch, pos int) Crop
	}{
		{"train", ImageBatchOptions{Train: true, Shuffle: true, Seed: 11, Norm: ScaleToUnit(3)},
			func(p Photo, e, pos int) Crop {
				return RandomCrop(p.H, p.W, hash3(11, streamCrop, uint64(e), uint64(pos)))
			}},
		{"eval centre", ImageBatchOptions{Norm: CaffeBGR()}, func(p Photo, _, _ int) Crop { return CenterSquareCrop(p.H, p.W) }},
		{"eval book", ImageBatchOptions{EvalCrop: EvalBookCentral, Shuffle: true, Seed: 2}, func(p Photo, _, _ int) Crop { return BookCentralCrop(p.H, p.W) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.BatchSize, tc.opts.Size = 5, size
			b, err := NewImageBatcher(m, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			for _, e := range []int{0, 3} {
				xs, ys := sourceEpoch(t, b, b.BatchShape(), e)
				pos := 0
				for k, batch := range ys {
					for i, label := range batch {
						p := m.Photos[label]
						want := expectedImage(t, p, tc.crop(p, e, pos), size, tc.opts.Norm)
						if got := xs[k][i*3*size*size : (i+1)*3*size*size]; !slices.Equal(got, want) {
							t.Fatalf("epoch %d position %d (photo %d): batch values differ from ResizeBilinear of the expected crop", e, pos, label)
						}
						pos++
					}
				}
				if order := slices.Concat(ys...); tc.opts.Shuffle == slices.IsSorted(order) {
					t.Errorf("epoch %d: order %v with Shuffle %v", e, order, tc.opts.Shuffle)
				}
			}
		})
	}
}

func TestImageBatcherDeterminism(t *testing.T) {
	m := synthImages(37)
	base := ImageBatchOptions{BatchSize: 8, Size: 12, Train: true, Shuffle: true, Seed: 5, Norm: ScaleToUnit(3)}
	run := func(workers, from, epochs int) (xs [][][]float32, ys [][][]int32) {
		opts := base
		opts.Workers = workers
		b, err := NewImageBatcher(m, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for e := from; e < epochs; e++ {
			x, y := sourceEpoch(t, b, b.BatchShape(), e)
			xs, ys = append(xs, x), append(ys, y)
		}
		return xs, ys
	}
	xs, ys := run(1, 0, 3)
	for _, workers := range []int{2, 3, 8, 0} {
		xs2, ys2 := run(workers, 0, 3)
		for e := range xs {
			if !slices.EqualFunc(xs[e], xs2[e], slices.Equal) || !slices.EqualFunc(ys[e], ys2[e], slices.Equal) {
				t.Fatalf("%d workers: epoch %d differs from 1 worker", workers, e)
			}
		}
	}
	// Resuming at epoch 2 sees exactly epoch 2 of the uninterrupted run.
	xr, yr := run(2, 2, 3)
	if !slices.EqualFunc(xr[0], xs[2], slices.Equal) || !slices.EqualFunc(yr[0], ys[2], slices.Equal) {
		t.Fatal("resumed epoch 2 differs")
	}
	// Every photo once per epoch; orders and crops change from epoch to epoch.
	for e := range ys {
		if got := slices.Sorted(slices.Values(slices.Concat(ys[e]...))); !slices.Equal(got, indexLabels(37)) {
			t.Fatalf("epoch %d holds %v", e, got)
		}
	}
	if slices.Equal(slices.Concat(ys[0]...), slices.Concat(ys[1]...)) {
		t.Error("epochs 0 and 1 have the same order")
	}
	// The same seed, without shuffling, gives different crops of photo 0 in epochs 0 and 1.
	opts := base
	opts.Shuffle = false
	b, _ := NewImageBatcher(m, opts)
	defer b.Close()
	x0, _ := sourceEpoch(t, b, b.BatchShape(), 0)
	x1, _ := sourceEpoch(t, b, b.BatchShape(), 1)
	if slices.Equal(x0[0][:3*144], x1[0][:3*144]) {
		t.Error("photo 0 got the same augmentation in epochs 0 and 1")
	}
}

func indexLabels(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = int32(i)
	}
	return s
}

func TestImageBatcherSizes(t *testing.T) {
	m := synthImages(23)
	cases := []struct {
		name          string
		bs            int
		drop          bool
		batches, last int
	}{
		{"exact", 23, false, 1, 23},
		{"remainder", 5, false, 5, 3},
		{"drop last", 5, true, 4, 5},
		{"bigger than data", 30, false, 1, 23},
		{"bigger than data, drop", 30, true, 0, 0},
		{"one", 1, false, 23, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewImageBatcher(m, ImageBatchOptions{BatchSize: tc.bs, Size: 4, DropLast: tc.drop})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if b.BatchShape() != [4]int{tc.bs, 3, 4, 4} || b.Len() != 23 {
				t.Errorf("shape %v, len %d", b.BatchShape(), b.Len())
			}
			_, ys := sourceEpoch(t, b, b.BatchShape(), 0)
			if len(ys) != tc.batches || (tc.batches > 0 && len(ys[len(ys)-1]) != tc.last) {
				t.Fatalf("%d batches, want %d of which the last has %d", len(ys), tc.batches, tc.last)
			}
			x, y := make([]float32, tc.bs*48), make([]int32, tc.bs)
			if _, ok := b.Next(x, y); ok {
				t.Error("Next after the end of the epoch returned a batch")
			}
		})
	}
	// The default size is 224.
	b, err := NewImageBatcher(m, ImageBatchOptions{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.BatchShape() != [4]int{2, 3, 224, 224} {
		t.Errorf("default shape %v", b.BatchShape())
	}
}

func TestNewImageBatcherErrors(t *testing.T) {
	m := synthImages(3)
	broken := synthImages(3)
	broken.Labels[1] = 7
	cases := []struct {
		name string
		m    *Images
		opts ImageBatchOptions
	}{
		{"nil images", nil, ImageBatchOptions{BatchSize: 1}},
		{"broken images", broken, ImageBatchOptions{BatchSize: 1}},
		{"zero batch", m, ImageBatchOptions{}},
		{"negative size", m, ImageBatchOptions{BatchSize: 1, Size: -1}},
		{"huge size", m, ImageBatchOptions{BatchSize: 1, Size: 1 << 20}},
		{"bad crop", m, ImageBatchOptions{BatchSize: 1, EvalCrop: 7}},
		{"bad norm", m, ImageBatchOptions{BatchSize: 1, Norm: ChannelNorm{Mean: []float32{1}}}},
		{"bad order", m, ImageBatchOptions{BatchSize: 1, Norm: ChannelNorm{Mean: make([]float32, 3), Scale: make([]float32, 3), Order: []int{0, 0, 1}}}},
	}
	for _, tc := range cases {
		if _, err := NewImageBatcher(tc.m, tc.opts); !errors.Is(err, ErrArgument) {
			t.Errorf("%s: %v, want ErrArgument", tc.name, err)
		}
	}
}

func TestImageBatcherNextPanicsOnSmallBuffers(t *testing.T) {
	b, _ := NewImageBatcher(synthImages(4), ImageBatchOptions{BatchSize: 2, Size: 4})
	defer b.Close()
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	b.Next(make([]float32, 95), make([]int32, 2))
}

// After Close the caller's goroutine prepares the batches alone, and they are the same.
func TestImageBatcherClose(t *testing.T) {
	m := synthImages(9)
	opts := ImageBatchOptions{BatchSize: 4, Size: 8, Train: true, Shuffle: true, Seed: 3, Workers: 2}
	b, _ := NewImageBatcher(m, opts)
	x1, _ := sourceEpoch(t, b, b.BatchShape(), 1)
	b.Close()
	b.Close()
	x2, _ := sourceEpoch(t, b, b.BatchShape(), 1)
	if !slices.EqualFunc(x1, x2, slices.Equal) {
		t.Error("batches changed after Close")
	}
}

// Helpers of an ImageBatcher dropped without Close exit once it is collected.
func TestImageBatcherCleanup(t *testing.T) {
	m := synthImages(4)
	before := runtime.NumGoroutine()
	for range 5 {
		b, err := NewImageBatcher(m, ImageBatchOptions{BatchSize: 4, Size: 4, Workers: 4})
		if err != nil {
			t.Fatal(err)
		}
		b.Epoch(0)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines, %d before: helpers leaked", n, before)
	}
}

func TestImageBatcherNoAllocation(t *testing.T) {
	m := synthImages(50)
	for _, train := range []bool{true, false} {
		b, err := NewImageBatcher(m, ImageBatchOptions{BatchSize: 8, Size: 32, Train: train, Shuffle: true, Seed: 1, Norm: ScaleToUnit(3), Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		x, y := make([]float32, 8*3*32*32), make([]int32, 8)
		e := 0
		step := func() {
			if _, ok := b.Next(x, y); !ok {
				e++
				b.Epoch(e)
			}
		}
		for range 20 { // warm up: every worker's buffers grow to their size
			step()
		}
		if allocs := testing.AllocsPerRun(100, step); allocs != 0 {
			t.Errorf("train=%v: %v allocations per Next/Epoch", train, allocs)
		}
		b.Close()
	}
}

// BenchmarkImageBatcher prepares batches of 32 inputs of 224×224 with augmentation from photos of the
// tf_flowers size (256×341); it reports images/s.
func BenchmarkImageBatcher(b *testing.B) {
	m := &Images{ClassNames: []string{"x"}}
	for i := range 64 {
		m.Photos = append(m.Photos, testPhoto(256, 341, uint64(i)))
		m.Labels = append(m.Labels, 0)
	}
	for _, workers := range []int{1, 0} {
		for _, train := range []bool{true, false} {
			b.Run(fmt.Sprintf("workers=%d/train=%v", workers, train), func(b *testing.B) {
				benchmarkBatcher(b, m, ImageBatchOptions{BatchSize: 32, Train: train, Shuffle: true, Norm: ScaleToUnit(3), Workers: workers})
			})
		}
	}
}

func benchmarkBatcher(b *testing.B, m *Images, opts ImageBatchOptions) {
	bt, err := NewImageBatcher(m, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer bt.Close()
	s := bt.BatchShape()
	x, y := make([]float32, s[0]*s[1]*s[2]*s[3]), make([]int32, s[0])
	b.ReportAllocs()
	e, images := 0, 0
	for b.Loop() {
		n, ok := bt.Next(x, y)
		if !ok {
			e++
			bt.Epoch(e)
		}
		images += n
	}
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}
