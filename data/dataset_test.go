package data

import (
	"errors"
	"testing"
)

func TestSliceSharesStorage(t *testing.T) {
	d := indexDataset(10, 2, 3, 4)
	s := d.Slice(3, 7)
	if s.N != 4 || len(s.Pixels) != 4*24 || len(s.Labels) != 4 || s.Labels[0] != 3 {
		t.Fatalf("slice N=%d pixels=%d labels=%v", s.N, len(s.Pixels), s.Labels)
	}
	s.Pixels[0] = 0
	if d.Pixels[3*24] != 0 {
		t.Error("slice does not share pixel storage")
	}
	if cap(s.Pixels) != len(s.Pixels) || cap(s.Labels) != len(s.Labels) {
		t.Error("slice capacity reaches into the parent; append would overwrite it")
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
	if string(s.Image(1)) != string(d.Image(4)) {
		t.Error("Image(1) of slice differs from Image(4) of parent")
	}
}

func TestSlicePanicsOutOfRange(t *testing.T) {
	d := indexDataset(5, 1, 2, 2)
	for _, r := range [][2]int{{-1, 2}, {3, 2}, {0, 6}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Slice(%d, %d) did not panic", r[0], r[1])
				}
			}()
			d.Slice(r[0], r[1])
		}()
	}
}

func TestSubset(t *testing.T) {
	d := indexDataset(10, 1, 2, 2)
	for _, tc := range []struct{ n, want int }{{0, 10}, {-3, 10}, {4, 4}, {10, 10}, {11, 10}} {
		if got := d.Subset(tc.n).N; got != tc.want {
			t.Errorf("Subset(%d).N = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestSplitLast(t *testing.T) {
	d := indexDataset(10, 1, 2, 2)
	cases := []struct {
		n, rest, last int
		err           bool
	}{
		{3, 7, 3, false},
		{0, 10, 0, false},
		{10, 0, 10, false},
		{11, 0, 0, true},
		{-1, 0, 0, true},
	}
	for _, tc := range cases {
		rest, last, err := SplitLast(d, tc.n)
		if tc.err {
			if !errors.Is(err, ErrArgument) {
				t.Errorf("SplitLast(%d): got %v, want ErrArgument", tc.n, err)
			}
			continue
		}
		if err != nil || rest.N != tc.rest || last.N != tc.last {
			t.Errorf("SplitLast(%d) = %v, %v, %v", tc.n, rest.N, last.N, err)
			continue
		}
		if tc.last > 0 && last.Labels[0] != int32(tc.rest) {
			t.Errorf("SplitLast(%d): last starts at sample %d, want %d", tc.n, last.Labels[0], tc.rest)
		}
	}
	if _, _, err := SplitLast(nil, 1); !errors.Is(err, ErrArgument) {
		t.Errorf("SplitLast(nil): %v", err)
	}
}

func TestDatasetValidate(t *testing.T) {
	cases := []struct {
		name string
		edit func(d *Dataset)
	}{
		{"short pixels", func(d *Dataset) { d.Pixels = d.Pixels[1:] }},
		{"short labels", func(d *Dataset) { d.Labels = d.Labels[1:] }},
		{"zero channels", func(d *Dataset) { d.C = 0 }},
		{"label too big", func(d *Dataset) { d.Labels[2] = int32(d.Classes) }},
		{"negative label", func(d *Dataset) { d.Labels[2] = -1 }},
		{"class names", func(d *Dataset) { d.ClassNames = []string{"x"} }},
	}
	if err := indexDataset(4, 1, 2, 2).Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		d := indexDataset(4, 1, 2, 2)
		tc.edit(d)
		if err := d.Validate(); !errors.Is(err, ErrArgument) {
			t.Errorf("%s: got %v, want ErrArgument", tc.name, err)
		}
	}
	var nilDS *Dataset
	if err := nilDS.Validate(); !errors.Is(err, ErrArgument) {
		t.Errorf("nil: %v", err)
	}
}

func TestMirroredHorizontally(t *testing.T) {
	for _, shape := range [][4]int{{3, 1, 2, 5}, {2, 3, 4, 4}, {1, 2, 1, 1}} {
		n, c, h, w := shape[0], shape[1], shape[2], shape[3]
		d := indexDataset(n, c, h, w)
		before := append([]uint8(nil), d.Pixels...)
		m := d.MirroredHorizontally()
		if m.N != n || m.C != c || m.H != h || m.W != w || len(m.Pixels) != len(d.Pixels) {
			t.Fatalf("%v: mirrored dataset has shape N=%d C=%d H=%d W=%d with %d bytes", shape, m.N, m.C, m.H, m.W, len(m.Pixels))
		}
		if string(d.Pixels) != string(before) {
			t.Errorf("%v: mirroring changed the original", shape)
		}
		for i := 0; i < n; i++ {
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					for k := 0; k < c; k++ {
						got := m.Pixels[((i*h+y)*w+x)*c+k]
						want := d.Pixels[((i*h+y)*w+(w-1-x))*c+k]
						if got != want {
							t.Fatalf("%v: image %d pixel (%d,%d,%d) = %d, want %d", shape, i, y, x, k, got, want)
						}
					}
				}
			}
		}
		if twice := m.MirroredHorizontally(); string(twice.Pixels) != string(d.Pixels) {
			t.Errorf("%v: mirroring twice is not the identity", shape)
		}
	}
}
