package data

import (
	"errors"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var tenClasses = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}

func TestReadIDXValid(t *testing.T) {
	dir := t.TempDir()
	img := writeFile(t, dir, "img.gz", imagesGz(t, 5, 3, 4))
	lab := writeFile(t, dir, "lab.gz", labelsGz(t, 5, 10))
	d, err := ReadIDX(img, lab, tenClasses)
	if err != nil {
		t.Fatal(err)
	}
	if d.N != 5 || d.C != 1 || d.H != 3 || d.W != 4 || d.Classes != 10 {
		t.Fatalf("shape N=%d C=%d H=%d W=%d classes=%d", d.N, d.C, d.H, d.W, d.Classes)
	}
	want := synthPixels(5, 3, 4)
	if string(d.Pixels) != string(want) {
		t.Errorf("pixels differ")
	}
	for i, l := range synthLabels(5, 10) {
		if d.Labels[i] != int32(l) {
			t.Errorf("label %d = %d, want %d", i, d.Labels[i], l)
		}
	}
	// Without class names, Classes is max label + 1.
	d, err = ReadIDX(img, lab, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantClasses := 0
	for _, l := range synthLabels(5, 10) {
		wantClasses = max(wantClasses, int(l)+1)
	}
	if d.Classes != wantClasses {
		t.Errorf("classes = %d, want %d", d.Classes, wantClasses)
	}
}

func TestReadIDXCorrupt(t *testing.T) {
	goodImg := imagesGz(t, 5, 3, 4)
	goodLab := labelsGz(t, 5, 10)
	badCRC := append([]byte(nil), goodImg...)
	badCRC[len(badCRC)-8] ^= 0xff // gzip trailer: CRC-32, then ISIZE

	cases := []struct {
		name     string
		img, lab []byte
		bad      string // which file the error must name: "img" or "lab"
		want     error
		contains string
	}{
		{"truncated gzip", goodImg[:len(goodImg)/2], goodLab, "img", ErrFormat, "truncated"},
		{"truncated label gzip", goodImg, goodLab[:len(goodLab)-6], "lab", ErrFormat, ""},
		{"gzip CRC", badCRC, goodLab, "img", ErrFormat, "corrupt gzip"},
		{"not gzip", idxBytes(idxImagesMagic, []uint32{5, 3, 4}, synthPixels(5, 3, 4)), goodLab, "img", ErrFormat, "not a gzip stream"},
		{"empty file", []byte{}, goodLab, "img", ErrFormat, "not a gzip stream"},
		{"header cut", gzipBytes(t, []byte{0, 0, 8, 3, 0, 0}), goodLab, "img", ErrFormat, "header"},
		{"image magic", gzipBytes(t, idxBytes(idxLabelsMagic, []uint32{5, 3, 4}, synthPixels(5, 3, 4))), goodLab, "img", ErrFormat, "magic number"},
		{"label magic", goodImg, gzipBytes(t, idxBytes(idxImagesMagic, []uint32{5}, synthLabels(5, 10))), "lab", ErrFormat, "magic number"},
		{"fewer pixels than header", gzipBytes(t, idxBytes(idxImagesMagic, []uint32{6, 3, 4}, synthPixels(5, 3, 4))), goodLab, "img", ErrFormat, "truncated"},
		{"fewer labels than header", goodImg, gzipBytes(t, idxBytes(idxLabelsMagic, []uint32{9}, synthLabels(5, 10))), "lab", ErrFormat, "truncated"},
		{"trailing data", gzipBytes(t, idxBytes(idxImagesMagic, []uint32{4, 3, 4}, synthPixels(5, 3, 4))), goodLab, "img", ErrFormat, "trailing data"},
		{"count mismatch", goodImg, labelsGz(t, 4, 10), "lab", ErrFormat, "5 images but"},
		{"label out of range", goodImg, gzipBytes(t, idxBytes(idxLabelsMagic, []uint32{5}, []byte{1, 2, 10, 3, 4})), "lab", ErrFormat, "label 10"},
		{"absurd count", gzipBytes(t, idxBytes(idxImagesMagic, []uint32{0x7fffffff, 28, 28}, synthPixels(1, 28, 28))), goodLab, "img", ErrFormat, "limit"},
		{"negative count", gzipBytes(t, idxBytes(idxImagesMagic, []uint32{0xffffffff, 28, 28}, nil)), goodLab, "img", ErrFormat, "limit"},
		{"absurd side", gzipBytes(t, idxBytes(idxImagesMagic, []uint32{1, 1 << 20, 28}, nil)), goodLab, "img", ErrFormat, "image side"},
		{"zero side", gzipBytes(t, idxBytes(idxImagesMagic, []uint32{1, 0, 28}, nil)), goodLab, "img", ErrFormat, "image side"},
		{"absurd product", gzipBytes(t, idxBytes(idxImagesMagic, []uint32{1 << 20, 1 << 10, 1 << 10}, nil)), goodLab, "img", ErrFormat, "limit"},
		{"absurd label count", goodImg, gzipBytes(t, idxBytes(idxLabelsMagic, []uint32{0xfffffff0}, nil)), "lab", ErrFormat, "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths := map[string]string{
				"img": writeFile(t, dir, "img-file.gz", tc.img),
				"lab": writeFile(t, dir, "lab-file.gz", tc.lab),
			}
			d, err := ReadIDX(paths["img"], paths["lab"], tenClasses)
			if err == nil {
				t.Fatalf("no error, got dataset N=%d", d.N)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %q does not wrap %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), paths[tc.bad]) {
				t.Errorf("error %q does not name %s", err, paths[tc.bad])
			}
			if !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q does not mention %q", err, tc.contains)
			}
		})
	}
}

func TestReadIDXMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.gz")
	_, _, _, _, err := ReadIDXImages(p)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), p) {
		t.Errorf("got %v, want a not-exist error naming %s", err, p)
	}
}

// A header claiming ~780 MB (inside the limit) over a tiny file must fail
// without the reader allocating what the header claims.
func TestReadIDXLyingHeaderDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "liar.gz", gzipBytes(t, idxBytes(idxImagesMagic, []uint32{1_000_000, 28, 28}, synthPixels(10, 28, 28))))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, _, _, err := ReadIDXImages(p)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("got %v, want truncated ErrFormat", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("allocated %d bytes reading a lying header", got)
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(idxImagesMagic, []uint32{2, 2, 3}, synthPixels(2, 2, 3)), true)
	f.Add(idxBytes(idxLabelsMagic, []uint32{4}, []byte{1, 2, 3, 9}), true)
	f.Add(idxBytes(idxImagesMagic, []uint32{0xffffffff, 28, 28}, nil), true)
	f.Add(idxBytes(idxImagesMagic, []uint32{3, 2, 3}, synthPixels(2, 2, 3)), true)
	f.Add(gzipBytes(f, idxBytes(idxLabelsMagic, []uint32{2}, []byte{1, 2})), false)
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, false)
	f.Fuzz(func(t *testing.T, body []byte, compress bool) {
		content := body
		if compress {
			content = gzipBytes(t, body)
		}
		p := writeFile(t, t.TempDir(), "fuzz.gz", content)
		if pix, n, rows, cols, err := ReadIDXImages(p); err == nil {
			if n < 0 || rows <= 0 || cols <= 0 || len(pix) != n*rows*cols {
				t.Fatalf("inconsistent result n=%d rows=%d cols=%d len=%d", n, rows, cols, len(pix))
			}
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("error does not wrap ErrFormat: %v", err)
		}
		if labels, err := ReadIDXLabels(p); err == nil {
			for _, l := range labels {
				if l < 0 || l > 255 {
					t.Fatalf("label %d", l)
				}
			}
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("error does not wrap ErrFormat: %v", err)
		}
		if _, err := ReadIDX(p, p, tenClasses); err == nil {
			t.Fatalf("one file cannot be both images and labels")
		}
	})
}
