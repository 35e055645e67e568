package data

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The real tf_flowers photos, from $FOVEA_DATA/flower_photos (skipped when absent). Only the listing
// covers all 3670 photos; decoding uses a few per class to stay fast (BenchmarkLoadFlowers decodes all).
func TestFlowersReal(t *testing.T) {
	root := realRoot(t, FlowersFolder)
	dir, err := EnsureFlowers(context.Background(), root, FetchOptions{Offline: true})
	if err != nil || dir != filepath.Join(root, "flower_photos") {
		t.Fatalf("EnsureFlowers on the present folder: %q, %v", dir, err)
	}
	f, err := ScanFlowers(root)
	if err != nil {
		t.Fatal(err)
	}
	// Counted with ls: daisy 633, dandelion 898, roses 641, sunflowers 699, tulips 799.
	if f.Len() != 3670 || !slices.Equal(f.ClassCounts(), []int{633, 898, 641, 699, 799}) {
		t.Fatalf("%d photos, per class %v", f.Len(), f.ClassCounts())
	}
	for _, p := range f.Paths {
		if filepath.Ext(p) != ".jpg" {
			t.Errorf("unexpected file %s", p)
		}
	}

	t.Run("split", func(t *testing.T) {
		tr, va, te, err := f.Split(FlowersSplit(42))
		if err != nil {
			t.Fatal(err)
		}
		// 10% of 3670 = 367; 25% = 917.5, rounded to even 918: 551 validation, 2752 training photos.
		if te.Len() != 367 || va.Len() != 551 || tr.Len() != 2752 {
			t.Fatalf("test %d valid %d train %d", te.Len(), va.Len(), tr.Len())
		}
		all := slices.Sorted(slices.Values(slices.Concat(tr.Paths, va.Paths, te.Paths)))
		if !slices.Equal(all, slices.Sorted(slices.Values(f.Paths))) || len(slices.Compact(all)) != 3670 {
			t.Error("the parts are not a partition of the photos")
		}
		tr2, _, te2, _ := f.Split(FlowersSplit(42))
		if !slices.Equal(te.Paths, te2.Paths) || !slices.Equal(tr.Paths, tr2.Paths) {
			t.Error("same seed, different split")
		}
		_, _, te3, _ := f.Split(FlowersSplit(43))
		if slices.Equal(te.Paths, te3.Paths) {
			t.Error("seeds 42 and 43 give the same test set")
		}
		// Stratified, per class round(10%) | round(25%) (ties to even): daisy 63|158, dandelion 90|224
		// (224.5), roses 64|160, sunflowers 70|175, tulips 80|200.
		opts := FlowersSplit(42)
		opts.Stratified = true
		tr, va, te, _ = f.Split(opts)
		for _, tc := range []struct {
			name string
			got  []int
			want []int
		}{
			{"test", te.ClassCounts(), []int{63, 90, 64, 70, 80}},
			{"valid", va.ClassCounts(), []int{95, 134, 96, 105, 120}},
			{"train", tr.ClassCounts(), []int{475, 674, 481, 524, 599}},
		} {
			if !slices.Equal(tc.got, tc.want) {
				t.Errorf("stratified %s per class %v, want %v", tc.name, tc.got, tc.want)
			}
		}
	})

	m, err := f.FirstPerClass(6).Load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("decode", func(t *testing.T) {
		if m.Len() != 30 || m.Validate() != nil || !slices.Equal(m.ClassCounts(), []int{6, 6, 6, 6, 6}) {
			t.Fatalf("%d photos, %v, %v", m.Len(), m.Validate(), m.ClassCounts())
		}
		for i, p := range m.Photos {
			// The shared copy caps the shorter side at 256; the smallest photo's is 143.
			if s := min(p.H, p.W); s < 143 || s > 256 {
				t.Errorf("%s is %d×%d", m.Paths[i], p.H, p.W)
			}
			// Decoded pixels are the file's: check against the JPEG header's size.
			r, err := os.Open(filepath.Join(dir, m.Paths[i]))
			if err != nil {
				t.Fatal(err)
			}
			cfg, _, err := image.DecodeConfig(r)
			r.Close()
			if err != nil || cfg.Width != p.W || cfg.Height != p.H {
				t.Errorf("%s: header %v, decoded %d×%d (%v)", m.Paths[i], cfg, p.W, p.H, err)
			}
		}
	})

	t.Run("batches", func(t *testing.T) {
		opts := ImageBatchOptions{BatchSize: 8, Train: true, Shuffle: true, Seed: 42, Norm: ScaleToUnit(3), Workers: 1}
		one, _ := NewImageBatcher(m, opts)
		defer one.Close()
		opts.Workers = 2
		two, _ := NewImageBatcher(m, opts)
		defer two.Close()
		x1, y1 := sourceEpoch(t, one, one.BatchShape(), 4)
		x2, y2 := sourceEpoch(t, two, two.BatchShape(), 4)
		if !slices.EqualFunc(x1, x2, slices.Equal) || !slices.EqualFunc(y1, y2, slices.Equal) || len(y1) != 4 {
			t.Fatal("1 and 2 workers give different batches")
		}
		for _, x := range x1 {
			lo, hi := slices.Min(x), slices.Max(x)
			if lo < -1 || hi > 1 || hi-lo < 1 {
				t.Errorf("Xception inputs span [%v, %v], expected most of [−1, 1]", lo, hi)
			}
		}
		// Position 0 of epoch 4 is the book's random crop of that photo, resized, scaled.
		two.Epoch(4)
		idx := int(two.e.perm[0])
		if m.Labels[idx] != y1[0][0] {
			t.Fatal("label does not match the permutation")
		}
		p := m.Photos[idx]
		want := expectedImage(t, p, RandomCrop(p.H, p.W, hash3(42, streamCrop, 4, 0)), 224, ScaleToUnit(3))
		if !slices.Equal(x1[0][:3*224*224], want) {
			t.Error("first input differs from its expected crop")
		}
		x, y := make([]float32, 8*3*224*224), make([]int32, 8)
		e := 0
		allocs := testing.AllocsPerRun(10, func() {
			if _, ok := two.Next(x, y); !ok {
				e++
				two.Epoch(e)
			}
		})
		if allocs != 0 {
			t.Errorf("%v allocations per batch", allocs)
		}
	})
}

// BenchmarkFlowersBatcher prepares 224×224 batches of 32 from 65 real photos (13 per class); it reports images/s.
func BenchmarkFlowersBatcher(b *testing.B) {
	m := loadRealFlowers(b, 13)
	for _, workers := range []int{1, 0} {
		for _, train := range []bool{true, false} {
			b.Run(map[int]string{1: "1 worker", 0: "GOMAXPROCS workers"}[workers]+map[bool]string{true: "/train", false: "/eval"}[train], func(b *testing.B) {
				benchmarkBatcher(b, m, ImageBatchOptions{BatchSize: 32, Train: train, Shuffle: true, Norm: ScaleToUnit(3), Workers: workers})
			})
		}
	}
}

// BenchmarkLoadFlowers decodes all 3670 photos; it reports images/s and the bytes the decoded cache holds.
func BenchmarkLoadFlowers(b *testing.B) {
	for _, workers := range []int{1, 0} {
		b.Run(map[int]string{1: "1 worker", 0: "GOMAXPROCS workers"}[workers], func(b *testing.B) {
			var m *Images
			for b.Loop() {
				m = loadRealFlowersWith(b, 0, workers)
			}
			b.ReportMetric(float64(m.Len()*b.N)/b.Elapsed().Seconds(), "images/s")
			b.ReportMetric(float64(m.Bytes()), "cache-bytes")
		})
	}
}

func loadRealFlowers(b *testing.B, perClass int) *Images { return loadRealFlowersWith(b, perClass, 0) }

func loadRealFlowersWith(b *testing.B, perClass, workers int) *Images {
	b.Helper()
	root := os.Getenv(EnvRoot)
	if root == "" {
		b.Skipf("$%s is not set; skipping the benchmark on real tf_flowers data", EnvRoot)
	}
	f, err := ScanFlowers(root)
	if err != nil {
		b.Skipf("no tf_flowers under $%s=%s: %v", EnvRoot, root, err)
	}
	m, err := f.FirstPerClass(perClass).Load(LoadOptions{Workers: workers})
	if err != nil {
		b.Fatal(err)
	}
	return m
}
