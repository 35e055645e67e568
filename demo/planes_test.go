package demo

import (
	"image"
	"image/color"
	"math"
	"slices"
	"testing"
)

func TestGrayscaleAndRGB(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 1))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	img.Set(1, 0, color.RGBA{0, 255, 0, 255})
	img.Set(2, 0, color.RGBA{0, 0, 255, 255})
	img.Set(3, 0, color.RGBA{255, 255, 255, 255})
	gray := Grayscale(img)
	// The luma weights of each primary, and white = 0.2989 + 0.5870 + 0.1140 = 0.9999.
	want := []float64{0.2989, 0.5870, 0.1140, 0.9999}
	if gray.C != 1 || gray.H != 1 || gray.W != 4 {
		t.Fatalf("grayscale is %d×%d×%d, want 1×1×4", gray.C, gray.H, gray.W)
	}
	for i, w := range want {
		if math.Abs(float64(gray.Pix[i])-w) > 1e-6 {
			t.Fatalf("gray %v, want %v", gray.Pix, want)
		}
	}
	rgb := RGB(img)
	if wantRGB := []float32{1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1}; !slices.Equal(rgb.Pix, wantRGB) {
		t.Fatalf("RGB planes %v, want %v", rgb.Pix, wantRGB)
	}
}

func TestResize(t *testing.T) {
	cases := []struct {
		name string
		in   Planes
		h, w int
		want []float32
	}{
		// Half-pixel centres: output x in 0..3 samples input x at (x+0.5)/2 − 0.5 = −0.25 (clamped to 0),
		// 0.25, 0.75, 1.25 (clamped to 1), so a ramp 0, 1 becomes 0, 0.25, 0.75, 1.
		{"upscale 1x2 to 1x4", Planes{C: 1, H: 1, W: 2, Pix: []float32{0, 1}}, 1, 4, []float32{0, 0.25, 0.75, 1}},
		// Downscaling by 2 samples at 0.5, 2.5: the means of pixel pairs.
		{"downscale 1x4 to 1x2", Planes{C: 1, H: 1, W: 4, Pix: []float32{0, 2, 4, 8}}, 1, 2, []float32{1, 6}},
		// Bilinear in both axes: the centre of a 2×2 block is its mean.
		{"2x2 to 1x1", Planes{C: 1, H: 2, W: 2, Pix: []float32{0, 1, 2, 3}}, 1, 1, []float32{1.5}},
		{"same size is a copy", Planes{C: 2, H: 1, W: 2, Pix: []float32{1, 2, 3, 4}}, 1, 2, []float32{1, 2, 3, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Resize(tc.in, tc.h, tc.w)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out.Pix, tc.want) {
				t.Fatalf("got %v, want %v", out.Pix, tc.want)
			}
		})
	}
	if _, err := Resize(NewPlanes(1, 2, 2), 0, 3); err == nil {
		t.Fatal("resize to 0 rows: no error")
	}
}

func TestResizeShorter(t *testing.T) {
	cases := []struct {
		h, w, size, wantH, wantW int
	}{
		{240, 320, 120, 120, 160},
		{333, 500, 256, 256, 384},
		{500, 375, 100, 133, 100},
		{10, 10, 20, 20, 20},
	}
	for _, tc := range cases {
		out, err := ResizeShorter(NewPlanes(1, tc.h, tc.w), tc.size)
		if err != nil {
			t.Fatal(err)
		}
		if out.H != tc.wantH || out.W != tc.wantW {
			t.Errorf("%d×%d to shorter side %d: got %d×%d, want %d×%d", tc.h, tc.w, tc.size, out.H, out.W, tc.wantH, tc.wantW)
		}
	}
	if _, err := ResizeShorter(NewPlanes(1, 2, 2), -1); err == nil {
		t.Fatal("negative size: no error")
	}
}

func TestPlanesImage(t *testing.T) {
	p := Planes{C: 1, H: 1, W: 4, Pix: []float32{-2, 0, 1, 2}}
	cases := []struct {
		name    string
		scaling Scaling
		want    []uint8
	}{
		// Min-max: -2 → 0, 2 → 255, 0 → 127.5 rounds to 128, 1 → 191.25 rounds to 191.
		{"min-max", MinMax, []uint8{0, 128, 191, 255}},
		// Clip: [0, 1] → 0–255, outside clipped.
		{"clip", Clip, []uint8{0, 0, 255, 255}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img, err := p.Image(tc.scaling)
			if err != nil {
				t.Fatal(err)
			}
			if got := img.(*image.Gray).Pix; !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	flat, err := Planes{C: 1, H: 1, W: 2, Pix: []float32{3, 3}}.Image(MinMax)
	if err != nil {
		t.Fatal(err)
	}
	if got := flat.(*image.Gray).Pix; !slices.Equal(got, []uint8{0, 0}) {
		t.Fatalf("constant image shown as %v, want black", got)
	}
	rgb, err := Planes{C: 3, H: 1, W: 1, Pix: []float32{1, 0.5, 0}}.Image(Clip)
	if err != nil {
		t.Fatal(err)
	}
	if got := rgb.At(0, 0).(color.RGBA); got != (color.RGBA{255, 128, 0, 255}) {
		t.Fatalf("RGB pixel %v, want {255 128 0 255}", got)
	}
	if _, err := NewPlanes(2, 1, 1).Image(Clip); err == nil {
		t.Fatal("2 channels: no error")
	}
}

func TestTensorRoundTrip(t *testing.T) {
	p := Planes{C: 3, H: 1, W: 2, Pix: []float32{1, 2, 3, 4, 5, 6}}
	d := p.Tensor()
	if !d.Shape().Eq(p.Shape()) {
		t.Fatalf("tensor shape %v, want %v", d.Shape(), p.Shape())
	}
	back, err := FromTensor(d)
	if err != nil {
		t.Fatal(err)
	}
	if back.C != 3 || back.H != 1 || back.W != 2 || !slices.Equal(back.Pix, p.Pix) {
		t.Fatalf("round trip gave %+v", back)
	}
}
