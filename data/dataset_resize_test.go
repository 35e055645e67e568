package data

import (
	"errors"
	"testing"
)

func TestResized(t *testing.T) {
	// A 2×2 image upscaled to 4×4 with half-pixel centres: columns sample at x = −0.25, 0.25, 0.75 and
	// 1.25, clamped to the image, so row 0 (0, 100) becomes 0, 25, 75, 100 and row 1 (200, 40) becomes
	// 200, 160, 80, 40; rows sample the same way, so output row 1 is row 0 + (row 1 − row 0)·0.25:
	// 50, 58.75, 76.25, 85, rounded.
	src := &Dataset{Pixels: []uint8{0, 100, 200, 40}, Labels: []int32{3}, N: 1, C: 1, H: 2, W: 2, Classes: 10}
	for _, tc := range []struct {
		name string
		h, w int
		want []uint8
	}{
		{"same size", 2, 2, []uint8{0, 100, 200, 40}},
		{"2x up", 4, 4, []uint8{
			0, 25, 75, 100,
			50, 59, 76, 85,
			150, 126, 79, 55,
			200, 160, 80, 40,
		}},
		{"down to 1x1", 1, 1, []uint8{85}}, // the centre (0.5, 0.5): the mean of the four
		// One row at y = 0.5: the mean of the two rows, 92.5 and 77.5 rounding away from zero.
		{"oblong", 1, 4, []uint8{100, 93, 78, 70}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := src.Resized(tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if got.H != tc.h || got.W != tc.w || got.N != 1 || got.Labels[0] != 3 || len(got.Pixels) != len(tc.want) {
				t.Fatalf("got %d×%d, %d images, label %d, %d bytes", got.H, got.W, got.N, got.Labels[0], len(got.Pixels))
			}
			for i := range tc.want {
				if got.Pixels[i] != tc.want[i] {
					t.Fatalf("pixels %v, want %v", got.Pixels, tc.want)
				}
			}
		})
	}
	if src.H != 2 || src.Pixels[1] != 100 {
		t.Error("Resized changed its receiver")
	}
	for _, size := range [][2]int{{0, 4}, {4, -1}, {maxResizeSide + 1, 4}} {
		if _, err := src.Resized(size[0], size[1]); !errors.Is(err, ErrArgument) {
			t.Errorf("Resized(%d, %d): error %v, want ErrArgument", size[0], size[1], err)
		}
	}
}

// TestResizedChannels checks that channels are resized independently: a 3-channel image whose channels
// are constant stays constant at any size.
func TestResizedChannels(t *testing.T) {
	d := &Dataset{N: 2, C: 3, H: 3, W: 5, Labels: []int32{0, 1}}
	d.Pixels = make([]uint8, 2*3*5*3)
	for i := range d.Pixels {
		d.Pixels[i] = uint8(10 + 50*(i%3))
	}
	got, err := d.Resized(7, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got.Pixels {
		if v != uint8(10+50*(i%3)) {
			t.Fatalf("pixel %d is %d, want %d", i, v, 10+50*(i%3))
		}
	}
}
