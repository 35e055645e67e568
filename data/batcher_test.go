package data

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

// epochBatches runs one epoch and returns copies of every batch.
func epochBatches(t testing.TB, b *Batcher, e int) (xs [][]float32, ys [][]int32) {
	t.Helper()
	shape := b.BatchShape()
	x := make([]float32, shape[0]*shape[1]*shape[2]*shape[3])
	y := make([]int32, shape[0])
	b.Epoch(e)
	for {
		n, ok := b.Next(x, y)
		if !ok {
			break
		}
		xs = append(xs, slices.Clone(x[:n*shape[1]*shape[2]*shape[3]]))
		ys = append(ys, slices.Clone(y[:n]))
	}
	if len(ys) != b.BatchesPerEpoch() {
		t.Fatalf("epoch %d gave %d batches, BatchesPerEpoch says %d", e, len(ys), b.BatchesPerEpoch())
	}
	return xs, ys
}

func flat(ys [][]int32) []int32 { return slices.Concat(ys...) }

func TestBatcherDeterminism(t *testing.T) {
	d := indexDataset(103, 1, 6, 5)
	norm := FitStandardizer(d)
	for _, aug := range []*Augment{nil, {MaxShift: 2, FlipHorizontal: true}} {
		t.Run(fmt.Sprintf("augment=%v", aug != nil), func(t *testing.T) {
			opts := BatchOptions{BatchSize: 10, Shuffle: true, Seed: 7, Augment: aug, Norm: norm}
			a, _ := NewBatcher(d, opts)
			b, _ := NewBatcher(d, opts)

			// An uninterrupted run over epochs 0..3 ...
			var run [][][]float32
			var runY [][][]int32
			for e := range 4 {
				xs, ys := epochBatches(t, a, e)
				run, runY = append(run, xs), append(runY, ys)
			}
			// ... equals a fresh batcher resumed directly at epoch 2.
			xs, ys := epochBatches(t, b, 2)
			if !slices.EqualFunc(xs, run[2], slices.Equal) || !slices.EqualFunc(ys, runY[2], slices.Equal) {
				t.Fatal("resumed epoch 2 differs from uninterrupted epoch 2")
			}
			// Every sample exactly once per epoch; different epochs, different orders.
			for e, ys := range runY {
				got := slices.Sorted(slices.Values(flat(ys)))
				for i, v := range got {
					if v != int32(i) {
						t.Fatalf("epoch %d: samples %v are not each of 0..102 once", e, got)
					}
				}
				if e > 0 && slices.Equal(flat(ys), flat(runY[e-1])) {
					t.Errorf("epoch %d has the same order as epoch %d", e, e-1)
				}
			}
			if slices.Equal(flat(runY[0]), flat(ys)) {
				t.Error("epoch 0 and 2 share an order")
			}
			// A different seed gives a different order.
			opts.Seed = 8
			c, _ := NewBatcher(d, opts)
			if _, ys := epochBatches(t, c, 2); slices.Equal(flat(ys), flat(runY[2])) {
				t.Error("seeds 7 and 8 give the same order")
			}
		})
	}
}

func TestBatcherOrderAndSizes(t *testing.T) {
	d := indexDataset(23, 1, 2, 2)
	cases := []struct {
		name    string
		opts    BatchOptions
		batches int
		last    int // size of the last batch
	}{
		{"exact", BatchOptions{BatchSize: 23}, 1, 23},
		{"remainder", BatchOptions{BatchSize: 5}, 5, 3},
		{"drop last", BatchOptions{BatchSize: 5, DropLast: true}, 4, 5},
		{"drop last exact", BatchOptions{BatchSize: 23, DropLast: true}, 1, 23},
		{"bigger than data", BatchOptions{BatchSize: 30}, 1, 23},
		{"bigger than data, drop", BatchOptions{BatchSize: 30, DropLast: true}, 0, 0},
		{"one", BatchOptions{BatchSize: 1, Shuffle: true}, 23, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBatcher(d, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, ys := epochBatches(t, b, 0)
			if len(ys) != tc.batches {
				t.Fatalf("%d batches, want %d", len(ys), tc.batches)
			}
			if tc.batches > 0 && len(ys[len(ys)-1]) != tc.last {
				t.Errorf("last batch %d, want %d", len(ys[len(ys)-1]), tc.last)
			}
			if !tc.opts.Shuffle {
				for i, v := range flat(ys) {
					if v != int32(i) {
						t.Fatalf("unshuffled order %v", flat(ys))
					}
				}
			}
			// Exhausted epochs stay exhausted until Epoch is called.
			x, y := make([]float32, tc.opts.BatchSize*4), make([]int32, tc.opts.BatchSize)
			if _, ok := b.Next(x, y); ok {
				t.Error("Next after the end of the epoch returned a batch")
			}
		})
	}
}

// reference applies the documented augmentation to image i of d (HWC) and
// returns raw bytes in CHW order, 0 where the source is outside the image.
func reference(d *Dataset, i, dx, dy int, flip bool) []uint8 {
	img := d.Image(i)
	out := make([]uint8, d.SampleSize())
	for c := range d.C {
		for y := range d.H {
			for x := range d.W {
				sy, sx := y-dy, x-dx
				if sy < 0 || sy >= d.H || sx < 0 || sx >= d.W {
					continue
				}
				if flip {
					sx = d.W - 1 - sx
				}
				out[(c*d.H+y)*d.W+x] = img[(sy*d.W+sx)*d.C+c]
			}
		}
	}
	return out
}

func TestBatcherAugmentation(t *testing.T) {
	const maxShift = 2
	d := indexDataset(200, 3, 5, 6) // every pixel non-zero, so each transform is recognisable
	norm := FitStandardizer(d)
	for _, withNorm := range []bool{false, true} {
		t.Run(fmt.Sprintf("norm=%v", withNorm), func(t *testing.T) {
			opts := BatchOptions{BatchSize: 16, Shuffle: true, Seed: 3, Augment: &Augment{MaxShift: maxShift, FlipHorizontal: true}}
			if withNorm {
				opts.Norm = norm
			}
			b, err := NewBatcher(d, opts)
			if err != nil {
				t.Fatal(err)
			}
			m, k := opts.Norm.affine(d.SampleSize())
			xs, ys := epochBatches(t, b, 1)
			seen := map[string]int{}
			size := d.SampleSize()
			for bi, batch := range ys {
				for j, idx := range batch {
					got := xs[bi][j*size : (j+1)*size]
					match := ""
					for dy := -maxShift; dy <= maxShift && match == ""; dy++ {
						for dx := -maxShift; dx <= maxShift && match == ""; dx++ {
							for _, flip := range []bool{false, true} {
								want := reference(d, int(idx), dx, dy, flip)
								ok := true
								for e := range want {
									// A raw 0 (shifted-in background) must standardise like a real 0 pixel.
									if v := (float32(want[e]) - m[e]) * k[e]; v != got[e] {
										ok = false
										break
									}
								}
								if ok {
									match = fmt.Sprintf("dx=%d dy=%d flip=%v", dx, dy, flip)
									break
								}
							}
						}
					}
					if match == "" {
						t.Fatalf("sample %d is no allowed shift/flip of its image", idx)
					}
					seen[match]++
				}
			}
			// 200 draws over 50 possible transforms: most should show up.
			if len(seen) < 30 {
				t.Errorf("only %d distinct transforms in 200 samples: %v", len(seen), seen)
			}
		})
	}
}

func TestBatcherNoAugmentLayout(t *testing.T) {
	d := indexDataset(4, 3, 2, 3)
	for _, aug := range []*Augment{nil, {}} { // a zero Augment is the identity
		b, err := NewBatcher(d, BatchOptions{BatchSize: 4, Augment: aug})
		if err != nil {
			t.Fatal(err)
		}
		xs, _ := epochBatches(t, b, 0)
		size := d.SampleSize()
		for i := range 4 {
			want := reference(d, i, 0, 0, false)
			for e := range want {
				if got := xs[0][i*size+e]; math.Abs(float64(got)-float64(want[e])/255) > 1e-6 {
					t.Fatalf("image %d element %d = %v, want %v", i, e, got, float32(want[e])/255)
				}
			}
		}
	}
}

func TestNewBatcherErrors(t *testing.T) {
	d := indexDataset(10, 1, 4, 4)
	other := FitStandardizer(indexDataset(3, 1, 4, 5))
	cases := []struct {
		name string
		d    *Dataset
		opts BatchOptions
	}{
		{"nil dataset", nil, BatchOptions{BatchSize: 1}},
		{"zero batch", d, BatchOptions{}},
		{"negative batch", d, BatchOptions{BatchSize: -1}},
		{"negative shift", d, BatchOptions{BatchSize: 1, Augment: &Augment{MaxShift: -1}}},
		{"erase probability above 1", d, BatchOptions{BatchSize: 1, Augment: &Augment{EraseProb: 1.5}}},
		{"erase probability NaN", d, BatchOptions{BatchSize: 1, Augment: &Augment{EraseProb: math.NaN()}}},
		{"standardizer shape", d, BatchOptions{BatchSize: 1, Norm: other}},
		{"broken standardizer", d, BatchOptions{BatchSize: 1, Norm: &Standardizer{C: 1, H: 4, W: 4}}},
		{"broken dataset", &Dataset{N: 2, C: 1, H: 1, W: 1, Classes: 1, Pixels: []uint8{1}, Labels: []int32{0, 0}}, BatchOptions{BatchSize: 1}},
	}
	for _, tc := range cases {
		if _, err := NewBatcher(tc.d, tc.opts); !errors.Is(err, ErrArgument) {
			t.Errorf("%s: got %v, want ErrArgument", tc.name, err)
		}
	}
}

// TestBatcherRandomErasing checks that each erased sample is its image with one
// rectangle of the documented size and shape set to 0 in every channel, and
// that about EraseProb of the samples are erased.
func TestBatcherRandomErasing(t *testing.T) {
	const n, c, h, w = 400, 2, 28, 28
	d := indexDataset(n, c, h, w) // every pixel non-zero: an erased pixel is the only 0
	for _, prob := range []float64{0.5, 1} {
		t.Run(fmt.Sprint(prob), func(t *testing.T) {
			b, err := NewBatcher(d, BatchOptions{BatchSize: 32, Shuffle: true, Seed: 5, Augment: &Augment{EraseProb: prob}})
			if err != nil {
				t.Fatal(err)
			}
			xs, ys := epochBatches(t, b, 2)
			size, erased := d.SampleSize(), 0
			m, k := (*Standardizer)(nil).affine(size)
			value := func(want []uint8, e int) float32 { return (float32(want[e]) - m[e]) * k[e] }
			for bi, batch := range ys {
				for j, idx := range batch {
					got := xs[bi][j*size : (j+1)*size]
					want := reference(d, int(idx), 0, 0, false)
					x0, y0, x1, y1 := w, h, -1, -1 // bounding box of the zeros in channel 0
					for e, v := range got {
						if v == 0 && e < h*w {
							x0, y0, x1, y1 = min(x0, e%w), min(y0, e/w), max(x1, e%w), max(y1, e/w)
						}
					}
					if x1 < 0 {
						for e := range want {
							if got[e] != value(want, e) {
								t.Fatalf("sample %d not erased but changed at %d", idx, e)
							}
						}
						continue
					}
					erased++
					ew, eh := x1-x0+1, y1-y0+1
					if area := float64(ew * eh); area < eraseMinArea*h*w-float64(ew+eh) || area > eraseMaxArea*h*w+float64(ew+eh) {
						t.Errorf("sample %d: erased %d×%d, outside %g–%g of the image", idx, eh, ew, eraseMinArea, eraseMaxArea)
					}
					if r := float64(eh) / float64(ew); r < eraseMinAspect/1.5 || r > 1.5/eraseMinAspect {
						t.Errorf("sample %d: erased %d×%d, aspect %g", idx, eh, ew, r)
					}
					for e := range want {
						x, y := e%w, e/w%h
						inside := x >= x0 && x <= x1 && y >= y0 && y <= y1
						if inside && got[e] != 0 || !inside && got[e] != value(want, e) {
							t.Fatalf("sample %d: value %g at channel %d (%d, %d); erased box x %d–%d, y %d–%d", idx, got[e], e/(h*w), y, x, x0, x1, y0, y1)
						}
					}
				}
			}
			if frac := float64(erased) / n; math.Abs(frac-prob) > 0.1 {
				t.Errorf("erased %d of %d samples, want about %g", erased, n, prob)
			}
		})
	}
}

func TestBatcherNextPanicsOnSmallBuffers(t *testing.T) {
	b, _ := NewBatcher(indexDataset(10, 1, 2, 2), BatchOptions{BatchSize: 4})
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	b.Next(make([]float32, 15), make([]int32, 4))
}

func TestBatcherNoAllocation(t *testing.T) {
	d := indexDataset(300, 1, 28, 28)
	b, err := NewBatcher(d, BatchOptions{BatchSize: 32, Shuffle: true, Seed: 1, Augment: &Augment{MaxShift: 3, FlipHorizontal: true, EraseProb: 0.5}, Norm: FitStandardizer(d)})
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]float32, 32*784), make([]int32, 32)
	e := 0
	allocs := testing.AllocsPerRun(50, func() {
		if _, ok := b.Next(x, y); !ok {
			e++
			b.Epoch(e)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Next/Epoch", allocs)
	}
}

func BenchmarkBatcherNext(b *testing.B) {
	d := indexDataset(1000, 1, 28, 28)
	for _, aug := range []*Augment{nil, {MaxShift: 2, FlipHorizontal: true}} {
		b.Run(fmt.Sprintf("augment=%v", aug != nil), func(b *testing.B) {
			bt, _ := NewBatcher(d, BatchOptions{BatchSize: 32, Shuffle: true, Augment: aug, Norm: FitStandardizer(d)})
			x, y := make([]float32, 32*784), make([]int32, 32)
			b.ReportAllocs()
			e := 0
			for b.Loop() {
				if _, ok := bt.Next(x, y); !ok {
					e++
					bt.Epoch(e)
				}
			}
		})
	}
}
