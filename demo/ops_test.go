package demo

import (
	"slices"
	"testing"
)

// img4x4 is the 4×4 test image
//
//	 1  2  3  4
//	 5  6  7  8
//	 9 10 11 12
//	13 14 15 16
func img4x4() Planes {
	p := NewPlanes(1, 4, 4)
	for i := range p.Pix {
		p.Pix[i] = float32(i + 1)
	}
	return p
}

// TestConvolveByHand checks Conv2D with SAME (zero) padding on img4x4 against values computed by hand.
// All values are small integers, exact in float32, so the comparison is exact.
func TestConvolveByHand(t *testing.T) {
	sharpen, _ := LookupFilter("sharpen")
	sobelX, _ := LookupFilter("sobel-x")
	vertical, _ := LookupFilter("vertical-line")
	horizontal, _ := LookupFilter("horizontal-line")
	identity, err := ParseKernel("0,0,0,0,1,0,0,0,0")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		filter Filter
		want   []float32
	}{
		// Sharpen is 5·centre − up − down − left − right, neighbours outside the image being 0:
		//   (0,0): 5·1 − 0 − 5 − 0 − 2 = −2      (0,1): 5·2 − 0 − 6 − 1 − 3 = 0
		//   (0,2): 5·3 − 0 − 7 − 2 − 4 = 2       (0,3): 5·4 − 0 − 8 − 3 − 0 = 9
		//   (1,0): 5·5 − 1 − 9 − 0 − 6 = 9       (1,3): 5·8 − 4 − 12 − 7 − 0 = 17
		//   (2,0): 5·9 − 5 − 13 − 0 − 10 = 17    (2,3): 5·12 − 8 − 16 − 11 − 0 = 25
		//   (3,0): 5·13 − 9 − 0 − 0 − 14 = 42    (3,1): 5·14 − 10 − 0 − 13 − 15 = 32
		//   (3,2): 5·15 − 11 − 0 − 14 − 16 = 34  (3,3): 5·16 − 12 − 0 − 15 − 0 = 53
		// and an interior pixel c, whose neighbours are c∓4 and c∓1, stays c: 6, 7, 10, 11.
		{"sharpen", sharpen, []float32{
			-2, 0, 2, 9,
			9, 6, 7, 17,
			17, 10, 11, 25,
			42, 32, 34, 53,
		}},
		// The 7×7 line filters pad 3 pixels each side, so every window covers a whole column (row) of the
		// 4×4 image: each output is the sum of its column (1+5+9+13 = 28, then +4 per column) or of its
		// row (1+2+3+4 = 10, then +16 per row).
		{"vertical-line", vertical, []float32{
			28, 32, 36, 40,
			28, 32, 36, 40,
			28, 32, 36, 40,
			28, 32, 36, 40,
		}},
		{"horizontal-line", horizontal, []float32{
			10, 10, 10, 10,
			26, 26, 26, 26,
			42, 42, 42, 42,
			58, 58, 58, 58,
		}},
		// Sobel x, right minus left with weights 1, 2, 1 (not flipped: a cross-correlation):
		//   interior: (3−1) + 2·(7−5) + (11−9) = 8 for every interior pixel;
		//   (0,0): 2·2 + 6 = 10;  (0,3): −(2·3 + 7) = −13;  (0,1): 2·(3−1) + (7−5) = 6;
		//   (3,0): 10 + 2·14 = 38;  (3,3): −(11 + 2·15) = −41;  (1,0): 2 + 2·6 + 10 = 24;
		//   (1,3): −(3 + 2·7 + 11) = −28;  (2,0): 6 + 2·10 + 14 = 40;  (2,3): −(7 + 2·11 + 15) = −44;
		//   (3,1): (11−9) + 2·(15−13) = 6.
		{"sobel-x", sobelX, []float32{
			10, 6, 6, -13,
			24, 8, 8, -28,
			40, 8, 8, -44,
			38, 6, 6, -41,
		}},
		{"identity", identity, img4x4().Pix},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Convolve(img4x4(), tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if out.C != 1 || out.H != 4 || out.W != 4 {
				t.Fatalf("output %d×%d×%d, want 1×4×4", out.C, out.H, out.W)
			}
			if !slices.Equal(out.Pix, tc.want) {
				t.Fatalf("got\n%v\nwant\n%v", out.Pix, tc.want)
			}
		})
	}
}

// TestConvolveChannels checks that every plane is filtered on its own.
func TestConvolveChannels(t *testing.T) {
	p := NewPlanes(2, 4, 4)
	copy(p.Pix, img4x4().Pix)
	for i := range 16 {
		p.Pix[16+i] = 2 * float32(i+1)
	}
	vertical, _ := LookupFilter("vertical-line")
	out, err := Convolve(p, vertical)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Pix[16:20], []float32{56, 64, 72, 80}; !slices.Equal(got, want) {
		t.Fatalf("second plane's first row %v, want twice the first plane's column sums %v", got, want)
	}
}

// TestPoolingByHand checks the pooling ops on a hand-computed 2-channel image.
func TestPoolingByHand(t *testing.T) {
	// Channel 0 is img4x4; channel 1 is
	//   0 -1  4  4
	//   3  2  4  4
	//   7  0 -8  1
	//   0  1  2  3
	p := NewPlanes(2, 4, 4)
	copy(p.Pix, img4x4().Pix)
	copy(p.Pix[16:], []float32{0, -1, 4, 4, 3, 2, 4, 4, 7, 0, -8, 1, 0, 1, 2, 3})
	cases := []struct {
		name      string
		pool      func(Planes) (Planes, error)
		c, h, w   int
		wantPlane []float32
	}{
		// 2×2 windows: channel 0 maxima are the bottom-right corners 6, 8, 14, 16; channel 1's are
		// max(0,-1,3,2) = 3, max(4,4,4,4) = 4, max(7,0,0,1) = 7, max(-8,1,2,3) = 3.
		{"max 2x2", func(p Planes) (Planes, error) { return MaxPool(p, 2) }, 2, 2, 2,
			[]float32{6, 8, 14, 16, 3, 4, 7, 3}},
		// Means: (1+2+5+6)/4 = 3.5, (3+4+7+8)/4 = 5.5, (9+10+13+14)/4 = 11.5, (11+12+15+16)/4 = 13.5;
		// channel 1: 4/4 = 1, 16/4 = 4, 8/4 = 2, (-8+1+2+3)/4 = -0.5.
		{"avg 2x2", func(p Planes) (Planes, error) { return AvgPool(p, 2) }, 2, 2, 2,
			[]float32{3.5, 5.5, 11.5, 13.5, 1, 4, 2, -0.5}},
		// A 3×3 window with stride 3 fits once (VALID): max of the top-left 3×3 block.
		{"max 3x3", func(p Planes) (Planes, error) { return MaxPool(p, 3) }, 2, 1, 1, []float32{11, 7}},
		// Depthwise over the 2 channels: the larger of the two planes at every pixel.
		{"depthwise k=2", func(p Planes) (Planes, error) { return DepthwiseMaxPool(p, 2) }, 1, 4, 4, []float32{
			1, 2, 4, 4,
			5, 6, 7, 8,
			9, 10, 11, 12,
			13, 14, 15, 16,
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.pool(p)
			if err != nil {
				t.Fatal(err)
			}
			if out.C != tc.c || out.H != tc.h || out.W != tc.w {
				t.Fatalf("output %d×%d×%d, want %d×%d×%d", out.C, out.H, out.W, tc.c, tc.h, tc.w)
			}
			if !slices.Equal(out.Pix, tc.wantPlane) {
				t.Fatalf("got %v, want %v", out.Pix, tc.wantPlane)
			}
		})
	}
}

func TestOpErrors(t *testing.T) {
	rgb := NewPlanes(3, 4, 4)
	cases := []struct {
		name string
		run  func() error
	}{
		{"depthwise k does not divide channels", func() error { _, err := DepthwiseMaxPool(rgb, 2); return err }},
		{"pool window larger than image", func() error { _, err := MaxPool(rgb, 5); return err }},
		{"pool window zero", func() error { _, err := AvgPool(rgb, 0); return err }},
		{"filter weights missing", func() error {
			_, err := Convolve(rgb, Filter{Name: "bad", Size: 3, Weights: []float64{1}})
			return err
		}},
		{"malformed planes", func() error {
			_, err := Convolve(Planes{C: 1, H: 2, W: 2}, Filter{Size: 1, Weights: []float64{1}})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
