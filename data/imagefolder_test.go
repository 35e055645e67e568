package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// solid is a w×h image of one colour.
func solid(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// writeTree writes files (slash paths relative to root) and returns root.
func writeTree(t testing.TB, root string, files map[string][]byte) string {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// testFolder is a small image folder exercising every rule of ScanImageFolder:
// an RGBA PNG with translucent pixels, a JPEG with an upper-case extension, a grayscale PNG, plus files
// that must be ignored, and a class without images.
func testFolder(t *testing.T) (dir string, rgba *image.NRGBA, gray *image.Gray) {
	rgba = image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i*20 + 5)
	}
	gray = image.NewGray(image.Rect(0, 0, 6, 4))
	for y := range 4 {
		for x := range 6 {
			gray.SetGray(x, y, color.Gray{Y: uint8(10*x + 40*y)})
		}
	}
	dir = writeTree(t, t.TempDir(), map[string][]byte{
		"LICENSE.txt":          []byte("credits"),
		"top.png":              pngBytes(t, rgba),
		"cats/a.png":           pngBytes(t, rgba),
		"cats/b.JPG":           jpegBytes(t, solid(16, 8, color.NRGBA{200, 100, 50, 255})),
		"cats/.hidden.png":     pngBytes(t, rgba),
		"cats/notes.txt":       []byte("not an image"),
		"cats/nested/c.png":    pngBytes(t, rgba),
		"dogs/d.png":           pngBytes(t, gray),
		"empty/readme.md":      []byte("no images here"),
		".git/objects/x.png":   pngBytes(t, rgba),
		"zebras.png/ignored.x": []byte("a folder named like an image"),
	})
	return dir, rgba, gray
}

func TestScanImageFolder(t *testing.T) {
	dir, _, _ := testFolder(t)
	f, err := ScanImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cats", "dogs", "empty", "zebras.png"}; !slices.Equal(f.ClassNames, want) {
		t.Errorf("classes %v, want %v", f.ClassNames, want)
	}
	if want := []string{"cats/a.png", "cats/b.JPG", "dogs/d.png"}; !slices.Equal(f.Paths, want) {
		t.Errorf("paths %v, want %v", f.Paths, want)
	}
	if want := []int32{0, 0, 1}; !slices.Equal(f.Labels, want) {
		t.Errorf("labels %v, want %v", f.Labels, want)
	}
	if want := []int{2, 1, 0, 0}; !slices.Equal(f.ClassCounts(), want) {
		t.Errorf("class counts %v, want %v", f.ClassCounts(), want)
	}
	if sub := f.FirstPerClass(1); !slices.Equal(sub.Paths, []string{"cats/a.png", "dogs/d.png"}) || !slices.Equal(sub.Labels, []int32{0, 1}) {
		t.Errorf("FirstPerClass(1): %v %v", sub.Paths, sub.Labels)
	}
	if sub := f.FirstPerClass(0); sub.Len() != 3 {
		t.Errorf("FirstPerClass(0) kept %d", sub.Len())
	}
}

func TestLoadImageFolder(t *testing.T) {
	dir, rgba, gray := testFolder(t)
	for _, workers := range []int{1, 3} {
		m, err := LoadImageFolder(dir, LoadOptions{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if m.Len() != 3 || m.Validate() != nil || len(m.Skipped) != 0 {
			t.Fatalf("%d photos, %v, skipped %v", m.Len(), m.Validate(), m.Skipped)
		}
		// PNG: exact, alpha dropped (not composited).
		a := m.Photos[0]
		if a.H != 2 || a.W != 3 {
			t.Fatalf("a.png is %d×%d", a.H, a.W)
		}
		for i := range 6 {
			if got, want := a.Pix[i*3:i*3+3], rgba.Pix[i*4:i*4+3]; !bytes.Equal(got, want) {
				t.Errorf("a.png pixel %d = %v, want %v", i, got, want)
			}
		}
		// JPEG: lossy, within a few levels of the solid colour.
		b := m.Photos[1]
		if b.H != 8 || b.W != 16 {
			t.Fatalf("b.JPG is %d×%d", b.H, b.W)
		}
		for i, v := range b.Pix {
			if want := []int{200, 100, 50}[i%3]; abs(int(v)-want) > 4 {
				t.Fatalf("b.JPG value %d = %d, want about %d", i, v, want)
			}
		}
		// Grayscale: replicated to R, G, B.
		d := m.Photos[2]
		for i := range 24 {
			if g := gray.Pix[i]; d.Pix[3*i] != g || d.Pix[3*i+1] != g || d.Pix[3*i+2] != g {
				t.Fatalf("d.png pixel %d = %v, want gray %d", i, d.Pix[3*i:3*i+3], g)
			}
		}
		if m.Bytes() != 6*3+128*3+24*3 {
			t.Errorf("Bytes() = %d", m.Bytes())
		}
		if !slices.Equal(m.Paths, []string{"cats/a.png", "cats/b.JPG", "dogs/d.png"}) || !slices.Equal(m.Labels, []int32{0, 0, 1}) {
			t.Errorf("paths %v labels %v", m.Paths, m.Labels)
		}
	}
}

// ShorterSide shrinks the 4×6 gray photo by 2 to 2×3: each value is the mean of a 2×2 block of
// 10x + 40y, e.g. (0+10+40+50)/4 = 25, and larger sides stay untouched.
func TestLoadShorterSide(t *testing.T) {
	dir, _, _ := testFolder(t)
	m, err := LoadImageFolder(dir, LoadOptions{ShorterSide: 2})
	if err != nil {
		t.Fatal(err)
	}
	d := m.Photos[2]
	if d.H != 2 || d.W != 3 {
		t.Fatalf("shrunk to %d×%d, want 2×3", d.H, d.W)
	}
	want := []uint8{25, 45, 65, 105, 125, 145}
	for i, w := range want {
		if d.Pix[3*i] != w {
			t.Errorf("pixel %d = %d, want %d", i, d.Pix[3*i], w)
		}
	}
	if a := m.Photos[0]; a.H != 2 || a.W != 3 {
		t.Errorf("a.png (shorter side 2 already) became %d×%d", a.H, a.W)
	}
	if b := m.Photos[1]; b.H != 2 || b.W != 4 {
		t.Errorf("b.JPG 8×16 became %d×%d, want 2×4", b.H, b.W)
	}
}

// pngWithSize is a valid 1×1 PNG whose header then claims w×h pixels (CRC fixed up).
func pngWithSize(t *testing.T, w, h uint32) []byte {
	b := pngBytes(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

func TestLoadBadFiles(t *testing.T) {
	good := pngBytes(t, image.NewGray(image.Rect(0, 0, 2, 2)))
	cases := []struct {
		name string
		bad  []byte
	}{
		{"garbage", []byte("this is not a JPEG")},
		{"truncated", jpegBytes(t, solid(32, 32, color.NRGBA{1, 2, 3, 255}))[:200]},
		{"huge header", pngWithSize(t, 1<<14, 1<<14)},
		{"empty", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, t.TempDir(), map[string][]byte{"a/1.png": good, "a/2.jpg": tc.bad, "b/3.png": good})
			_, err := LoadImageFolder(dir, LoadOptions{})
			checkErr(t, err, ErrFormat, []string{"2.jpg"})
			m, err := LoadImageFolder(dir, LoadOptions{SkipBad: true})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(m.Skipped, []string{"a/2.jpg"}) || !slices.Equal(m.Paths, []string{"a/1.png", "b/3.png"}) || !slices.Equal(m.Labels, []int32{0, 1}) {
				t.Errorf("skipped %v, kept %v %v", m.Skipped, m.Paths, m.Labels)
			}
		})
	}
}

func TestScanImageFolderErrors(t *testing.T) {
	_, err := ScanImageFolder(filepath.Join(t.TempDir(), "missing"))
	checkErr(t, err, ErrNotFound, []string{"missing"})
	noImages := writeTree(t, t.TempDir(), map[string][]byte{"a/x.txt": nil, "b.png": nil})
	_, err = ScanImageFolder(noImages)
	checkErr(t, err, ErrFormat, []string{"no JPEG or PNG"})
	if _, err := LoadImageFolder(noImages, LoadOptions{ShorterSide: -1}); err == nil {
		t.Error("no error")
	}
	dir, _, _ := testFolder(t)
	f, _ := ScanImageFolder(dir)
	if _, err := f.Load(LoadOptions{ShorterSide: -1}); !errors.Is(err, ErrArgument) {
		t.Errorf("negative ShorterSide: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "dogs", "d.png")); err != nil {
		t.Fatal(err)
	}
	_, err = f.Load(LoadOptions{})
	checkErr(t, err, ErrNotFound, []string{"d.png"})
}

func TestImagesValidate(t *testing.T) {
	p := testPhoto(2, 3, 1)
	ok := func() *Images {
		return &Images{Photos: []Photo{p, p}, Labels: []int32{0, 1}, Paths: []string{"a", "b"}, ClassNames: []string{"x", "y"}}
	}
	if err := ok().Validate(); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(m *Images){
		"no classes":     func(m *Images) { m.ClassNames = nil },
		"label range":    func(m *Images) { m.Labels[1] = 2 },
		"negative label": func(m *Images) { m.Labels[0] = -1 },
		"labels length":  func(m *Images) { m.Labels = m.Labels[:1] },
		"paths length":   func(m *Images) { m.Paths = m.Paths[:1] },
		"short pixels":   func(m *Images) { m.Photos[0].Pix = m.Photos[0].Pix[:5] },
		"zero size":      func(m *Images) { m.Photos[1] = Photo{} },
	}
	for name, breakIt := range cases {
		m := ok()
		breakIt(m)
		if err := m.Validate(); !errors.Is(err, ErrArgument) {
			t.Errorf("%s: %v", name, err)
		}
	}
	var nilImages *Images
	if err := nilImages.Validate(); !errors.Is(err, ErrArgument) {
		t.Errorf("nil: %v", err)
	}
	sub := ok().Subset([]int{1, 1, 0})
	if !slices.Equal(sub.Labels, []int32{1, 1, 0}) || !slices.Equal(sub.Paths, []string{"b", "b", "a"}) || &sub.Photos[2].Pix[0] != &p.Pix[0] {
		t.Errorf("Subset: %v %v", sub.Labels, sub.Paths)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// photoImage converts a photo to an image for encoding.
func photoImage(p Photo) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, p.W, p.H))
	for i := range p.H * p.W {
		copy(img.Pix[4*i:4*i+3], p.Pix[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	return img
}

// toRGB agrees with the image's own colour model for every chroma layout, at odd sizes.
func TestToRGBYCbCr(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		for _, r := range []image.Rectangle{image.Rect(0, 0, 7, 5), image.Rect(3, 1, 12, 6)} {
			m := image.NewYCbCr(r, ratio)
			for i := range m.Y {
				m.Y[i] = uint8(splitmix64(uint64(i)))
			}
			for i := range m.Cb {
				m.Cb[i], m.Cr[i] = uint8(splitmix64(uint64(i)+1000)), uint8(splitmix64(uint64(i)+2000))
			}
			p := toRGB(m)
			if p.H != r.Dy() || p.W != r.Dx() {
				t.Fatalf("%v %v: %d×%d", ratio, r, p.H, p.W)
			}
			for y := range p.H {
				for x := range p.W {
					c := m.YCbCrAt(r.Min.X+x, r.Min.Y+y)
					r8, g8, b8 := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
					if got := p.Pix[(y*p.W+x)*3:][:3]; !bytes.Equal(got, []byte{r8, g8, b8}) {
						t.Fatalf("%v %v: pixel (%d, %d) = %v, want %v", ratio, r, y, x, got, []byte{r8, g8, b8})
					}
				}
			}
		}
	}
}
