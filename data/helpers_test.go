package data

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// idxBytes builds an uncompressed IDX file: magic, dimensions, payload.
func idxBytes(magic uint32, dims []uint32, payload []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		_ = binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(payload)
	return b.Bytes()
}

// gzipBytes compresses b.
func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	z := gzip.NewWriter(&out)
	if _, err := z.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// writeFile writes b to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// synthPixels returns n images of rows×cols bytes with a pattern that differs
// per image and per position.
func synthPixels(n, rows, cols int) []byte {
	p := make([]byte, n*rows*cols)
	for i := range p {
		p[i] = byte(i*7 + i/(rows*cols)*13 + 1)
	}
	return p
}

// synthLabels returns n labels cycling through classes.
func synthLabels(n, classes int) []byte {
	l := make([]byte, n)
	for i := range l {
		l[i] = byte((i*7 + 1) % classes)
	}
	return l
}

// imagesGz and labelsGz build valid gzip IDX files.
func imagesGz(t testing.TB, n, rows, cols int) []byte {
	return gzipBytes(t, idxBytes(idxImagesMagic, []uint32{uint32(n), uint32(rows), uint32(cols)}, synthPixels(n, rows, cols)))
}

func labelsGz(t testing.TB, n, classes int) []byte {
	return gzipBytes(t, idxBytes(idxLabelsMagic, []uint32{uint32(n)}, synthLabels(n, classes)))
}

// indexDataset returns a dataset whose label i is i (Classes = n), so batches
// reveal which samples they hold, with distinct non-zero pixels.
func indexDataset(n, c, h, w int) *Dataset {
	d := &Dataset{N: n, C: c, H: h, W: w, Classes: n, Pixels: make([]uint8, n*c*h*w), Labels: make([]int32, n)}
	for i := range d.Pixels {
		d.Pixels[i] = byte(1 + (i*31+i/(c*h*w)*17)%255)
	}
	for i := range d.Labels {
		d.Labels[i] = int32(i)
	}
	return d
}

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }
