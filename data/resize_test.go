package data

import (
	"errors"
	"math"
	"testing"
)

// grayPhoto builds a photo from one grid of values: R = v, G = v/2, B = 255 − v, so each channel
// has its own expected values.
func grayPhoto(rows [][]float64) Photo {
	h, w := len(rows), len(rows[0])
	p := Photo{H: h, W: w, Pix: make([]uint8, h*w*3)}
	for y, row := range rows {
		for x, v := range row {
			o := (y*w + x) * 3
			p.Pix[o], p.Pix[o+1], p.Pix[o+2] = uint8(v), uint8(v)/2, 255-uint8(v)
		}
	}
	return p
}

// expectChannels turns expected R values into the expected HWC output for a grayPhoto: resizing is
// linear and every channel is an affine function of R on the source grid... except G, whose source is
// ⌊v/2⌋; the tests use even values so that G = v/2 exactly.
func expectChannels(r [][]float64) []float32 {
	var out []float32
	for _, row := range r {
		for _, v := range row {
			out = append(out, float32(v), float32(v/2), float32(255-v))
		}
	}
	return out
}

// The expected values are worked out by hand with TensorFlow 2's half-pixel formula: output coordinate
// i samples s = (i + 0.5)·(in/out) − 0.5, between ⌊s⌋ and ⌈s⌉ clamped to [0, in−1], weight s − ⌊s⌋.
func TestResizeBilinearGolden(t *testing.T) {
	cases := []struct {
		name   string
		src    [][]float64
		crop   *Crop // nil: the whole photo
		oh, ow int
		want   [][]float64
		tol    float64
	}{
		{
			// 4→2: scale 2, s = 0.5 and 2.5, so every output is the mean of a 2×2 block:
			// (0,0): top 10+(50−10)/2 = 30, bottom 30+(90−30)/2 = 60, value 30+(60−30)/2 = 45;
			// (0,1): top 0+200/2 = 100, bottom 254+(2−254)/2 = 128, value 114;
			// (1,0): top 6, bottom 0, value 3; (1,1): top 100+(60−100)/2 = 80, bottom 20+60/2 = 50, value 65.
			name: "4x4 to 2x2",
			src:  [][]float64{{10, 50, 0, 200}, {30, 90, 254, 2}, {6, 6, 100, 60}, {0, 0, 20, 80}},
			oh:   2, ow: 2,
			want: [][]float64{{45, 114}, {3, 65}},
		},
		{
			// 2→4: scale 1/2, s = −0.25, 0.25, 0.75, 1.25 → (0,0 w 0), (0,1 w ¼), (0,1 w ¾), (1,1 w 0).
			// row 0 only: 0, 25, 75, 100; row 1 only: 200, 200−160/4 = 160, 200−160·¾ = 80, 40;
			// ¼ of the way: 0+200/4 = 50, 25+(160−25)/4 = 58.75, 75+(80−75)/4 = 76.25, 100−60/4 = 85;
			// ¾ of the way: 150, 25+135·¾ = 126.25, 75+5·¾ = 78.75, 100−60·¾ = 55.
			name: "2x2 to 4x4",
			src:  [][]float64{{0, 100}, {200, 40}},
			oh:   4, ow: 4,
			want: [][]float64{{0, 25, 75, 100}, {50, 58.75, 76.25, 85}, {150, 126.25, 78.75, 55}, {200, 160, 80, 40}},
		},
		{
			// 3→2 columns (scale 1.5): s = 0.25 → 0+60/4 = 15; s = 1.75 → 60+140·¾ = 165. 1→1 row: s = 0.
			name: "1x3 to 1x2",
			src:  [][]float64{{0, 60, 200}},
			oh:   1, ow: 2,
			want: [][]float64{{15, 165}},
		},
		{
			// 3→5 columns (scale 0.6): s = −0.2, 0.4, 1.0, 1.6, 2.2 → 10, 10+10·0.4 = 14, 20,
			// 20+230·0.6 = 158, 250 (float32 scale 0.6 is not exact: tolerance).
			name: "1x3 to 1x5",
			src:  [][]float64{{10, 20, 250}},
			oh:   1, ow: 5,
			want: [][]float64{{10, 14, 20, 158, 250}},
			tol:  1e-3,
		},
		{
			// Columns 1..2 of the middle row, mirrored, at their own size: 100, 40.
			name: "crop and flip",
			src:  [][]float64{{2, 4, 6}, {20, 40, 100}, {8, 8, 8}},
			crop: &Crop{Y: 1, X: 1, H: 1, W: 2, Flip: true},
			oh:   1, ow: 2,
			want: [][]float64{{100, 40}},
		},
		{
			// The same mirrored crop upsampled 2→4: 100, 100−60/4 = 85, 100−60·¾ = 55, 40.
			name: "flip then resize",
			src:  [][]float64{{2, 4, 6}, {20, 40, 100}, {8, 8, 8}},
			crop: &Crop{Y: 1, X: 1, H: 1, W: 2, Flip: true},
			oh:   1, ow: 4,
			want: [][]float64{{100, 85, 55, 40}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := grayPhoto(tc.src)
			c := Crop{H: p.H, W: p.W}
			if tc.crop != nil {
				c = *tc.crop
			}
			got, err := ResizeBilinear(p, c, tc.oh, tc.ow)
			if err != nil {
				t.Fatal(err)
			}
			want := expectChannels(tc.want)
			if len(got) != len(want) {
				t.Fatalf("%d values, want %d", len(got), len(want))
			}
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > tc.tol {
					t.Errorf("value %d (y %d, x %d, channel %d) = %v, want %v", i, i/3/tc.ow, i/3%tc.ow, i%3, got[i], want[i])
				}
			}
		})
	}
}

// testPhoto is an h×w photo with varied pixels.
func testPhoto(h, w int, seed uint64) Photo {
	p := Photo{H: h, W: w, Pix: make([]uint8, h*w*3)}
	for i := range p.Pix {
		p.Pix[i] = uint8(splitmix64(seed ^ uint64(i)))
	}
	return p
}

func TestResizeBilinearIdentityAndMirror(t *testing.T) {
	p := testPhoto(7, 9, 1)
	whole, err := ResizeBilinear(p, Crop{H: 7, W: 9}, 7, 9)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range p.Pix {
		if whole[i] != float32(v) {
			t.Fatalf("same-size resize changed value %d: %v → %v", i, v, whole[i])
		}
	}
	// A mirrored crop resized equals the crop of a mirrored copy of the photo, resized.
	m := Photo{H: p.H, W: p.W, Pix: make([]uint8, len(p.Pix))}
	for y := range p.H {
		for x := range p.W {
			copy(m.Pix[(y*p.W+x)*3:][:3], p.Pix[(y*p.W+p.W-1-x)*3:][:3])
		}
	}
	c := Crop{Y: 1, X: 2, H: 5, W: 6, Flip: true}
	a, _ := ResizeBilinear(p, c, 11, 13)
	b, _ := ResizeBilinear(m, Crop{Y: 1, X: p.W - c.X - c.W, H: 5, W: 6}, 11, 13)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("mirrored crop differs from crop of mirrored photo at %d: %v vs %v", i, a[i], b[i])
		}
	}
}

// The batcher's NCHW kernel computes the same values as ResizeBilinear, then normalises per channel.
func TestResizeNCHWMatchesHWC(t *testing.T) {
	p := testPhoto(30, 41, 2)
	for _, norm := range []ChannelNorm{{}, ScaleToUnit(3), CaffeBGR()} {
		for _, c := range []Crop{{H: 30, W: 41}, CenterSquareCrop(30, 41), {Y: 3, X: 10, H: 27, W: 27, Flip: true}, BookCentralCrop(30, 41)} {
			const s = 17
			ref, err := ResizeBilinear(p, c, s, s)
			if err != nil {
				t.Fatal(err)
			}
			var r resampler
			r.prepare(p, c, s, s)
			pn := newPlaneNorm(norm, s*s)
			got := make([]float32, 3*s*s)
			r.nchw(got, p, &pn)
			for oc := range 3 {
				src, mean, scale := norm.Source(oc), float32(0), float32(1)
				if norm.Mean != nil {
					mean, scale = norm.Mean[oc], norm.Scale[oc]
				}
				for j := range s * s {
					if want := (ref[j*3+src] - mean) * scale; got[oc*s*s+j] != want {
						t.Fatalf("norm %v crop %+v: channel %d pixel %d = %v, want %v", norm, c, oc, j, got[oc*s*s+j], want)
					}
				}
			}
		}
	}
}

func TestResizeBilinearErrors(t *testing.T) {
	p := testPhoto(4, 5, 3)
	cases := []struct {
		name   string
		p      Photo
		c      Crop
		oh, ow int
	}{
		{"short pixels", Photo{H: 4, W: 5, Pix: p.Pix[:10]}, Crop{H: 4, W: 5}, 2, 2},
		{"empty photo", Photo{}, Crop{H: 1, W: 1}, 2, 2},
		{"crop outside", p, Crop{Y: 1, H: 4, W: 5}, 2, 2},
		{"negative crop", p, Crop{X: -1, H: 2, W: 2}, 2, 2},
		{"empty crop", p, Crop{H: 0, W: 2}, 2, 2},
		{"zero output", p, Crop{H: 4, W: 5}, 0, 2},
		{"huge output", p, Crop{H: 4, W: 5}, 2, 1 << 20},
	}
	for _, tc := range cases {
		if _, err := ResizeBilinear(tc.p, tc.c, tc.oh, tc.ow); !errors.Is(err, ErrArgument) {
			t.Errorf("%s: %v, want ErrArgument", tc.name, err)
		}
	}
}

func TestCropGeometry(t *testing.T) {
	cases := []struct {
		name string
		got  Crop
		want Crop
	}{
		// Centre square of side min(h, w) at ((h−s)/2, (w−s)/2).
		{"centre landscape", CenterSquareCrop(240, 320), Crop{Y: 0, X: 40, H: 240, W: 240}},
		{"centre portrait", CenterSquareCrop(320, 240), Crop{Y: 40, X: 0, H: 240, W: 240}},
		{"centre odd excess", CenterSquareCrop(256, 341), Crop{Y: 0, X: 42, H: 256, W: 256}},
		{"centre square", CenterSquareCrop(100, 100), Crop{H: 100, W: 100}},
		// The book's central_crop: (320−240)/4 = 20 columns off each side; (333−256)/4 = 19 rows.
		{"book landscape", BookCentralCrop(240, 320), Crop{Y: 0, X: 20, H: 240, W: 280}},
		{"book portrait", BookCentralCrop(333, 256), Crop{Y: 19, X: 0, H: 295, W: 256}},
		{"book square", BookCentralCrop(50, 50), Crop{H: 50, W: 50}},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
	for _, tc := range []struct{ h, w, side int }{{240, 320, 216}, {143, 256, 128}, {256, 256, 230}, {10, 10, 9}, {1, 5, 1}} {
		if got := RandomCropSide(tc.h, tc.w); got != tc.side {
			t.Errorf("RandomCropSide(%d, %d) = %d, want %d", tc.h, tc.w, got, tc.side)
		}
	}
}

// Random crops of a 240×320 photo: 216×216 squares whose offsets cover [0, 24]×[0, 104] uniformly,
// half of them mirrored.
func TestRandomCropDistribution(t *testing.T) {
	const draws = 50000
	ys, xs := make([]int, 25), make([]int, 105)
	flips := 0
	for i := range draws {
		c := RandomCrop(240, 320, hash3(9, streamCrop, 0, uint64(i)))
		if c.H != 216 || c.W != 216 || !c.inside(240, 320) {
			t.Fatalf("draw %d: crop %+v", i, c)
		}
		ys[c.Y]++
		xs[c.X]++
		if c.Flip {
			flips++
		}
	}
	for _, tc := range []struct {
		name   string
		counts []int
	}{{"rows", ys}, {"columns", xs}} {
		want := float64(draws) / float64(len(tc.counts))
		for v, k := range tc.counts {
			if math.Abs(float64(k)-want) > 6*math.Sqrt(want) {
				t.Errorf("%s: offset %d drawn %d times, expected about %.0f", tc.name, v, k, want)
			}
		}
	}
	if math.Abs(float64(flips)-draws/2) > 6*math.Sqrt(draws/4) {
		t.Errorf("%d of %d crops mirrored", flips, draws)
	}
}
