package keras

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Budgets for reading one damaged file: far above what the 3 MB SqueezeNet file needs (about 20 MB),
// far below what a trusted corrupt size would make the HDF5 library allocate.
const (
	readTimeout = 20 * time.Second
	readAlloc   = 256 << 20
)

// sentinels are the errors a damaged file may give.
var sentinels = []error{ErrNotHDF5, ErrTruncated, ErrCorrupt, ErrTooLarge, ErrUnsupported, ErrNotKeras, ErrMissing}

// guardedRead reads path with ReadWeights, failing the test if it panics, takes longer than readTimeout,
// allocates more than readAlloc, or returns an error that wraps none of the sentinels.
func guardedRead(t *testing.T, path, what string) error {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- errors.New("panic")
				t.Errorf("%s: ReadWeights panicked: %v", what, p)
			}
		}()
		_, err := ReadWeights(path)
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(readTimeout):
		t.Fatalf("%s: ReadWeights still running after %v", what, readTimeout)
	}
	runtime.ReadMemStats(&after)
	if a := after.TotalAlloc - before.TotalAlloc; a > readAlloc {
		t.Errorf("%s: ReadWeights allocated %d MB", what, a>>20)
	}
	if err != nil {
		known := false
		for _, s := range sentinels {
			known = known || errors.Is(err, s)
		}
		if !known {
			t.Errorf("%s: error %q wraps no sentinel", what, err)
		}
	}
	return err
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTruncated reads truncated copies of the real file: as cut (the superblock then claims more bytes
// than there are) and with the superblock's end-of-file address patched to the new length, so that the
// structures themselves point past the end.
func TestTruncated(t *testing.T) {
	orig, err := os.ReadFile(realSqueezeNet(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := len(orig)
	for _, size := range []int{0, 7, 8, 50, 95, 96, 800, 4096, 20000, n / 10, n / 3, n / 2, n - 4096, n - 1} {
		for _, patch := range []bool{false, true} {
			b := bytes.Clone(orig[:size])
			if patch && size >= 96 {
				binary.LittleEndian.PutUint64(b[40:], uint64(size)) // version-0 superblock: end-of-file address
			}
			path := filepath.Join(dir, "cut.h5")
			mustWrite(t, path, b)
			err := guardedRead(t, path, "truncated")
			if err == nil {
				t.Errorf("%d bytes (patched %v): no error", size, patch)
			} else if !patch && size >= 96 && !errors.Is(err, ErrTruncated) {
				t.Errorf("%d bytes: %v, want ErrTruncated", size, err)
			}
		}
	}
}

// TestFlipped reads copies of the real file with random bytes overwritten, half of them in its first
// 16 KB (superblock, root group, heaps) where most metadata lies: every read must end, small, without a
// panic; most give an error, some (flips in weight values) a file.
func TestFlipped(t *testing.T) {
	orig, err := os.ReadFile(realSqueezeNet(t))
	if err != nil {
		t.Fatal(err)
	}
	trials := 150
	if testing.Short() {
		trials = 40
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	failed := 0
	for range trials {
		b := bytes.Clone(orig)
		for range 1 + rng.IntN(4) {
			p := rng.IntN(len(b))
			if rng.IntN(2) == 0 {
				p = rng.IntN(16 << 10)
			}
			b[p] = byte(rng.IntN(256))
		}
		path := filepath.Join(dir, "flipped.h5")
		mustWrite(t, path, b)
		if guardedRead(t, path, "flipped") != nil {
			failed++
		}
	}
	t.Logf("%d of %d damaged copies gave an error", failed, trials)
}

// TestCrafted damages specific fields of the real file the way that used to make the HDF5 library
// allocate terabytes or read outside the file.
func TestCrafted(t *testing.T) {
	orig, err := os.ReadFile(realSqueezeNet(t))
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	// conv1's kernel: dataspace dims (3, 3, 3, 64) and contiguous layout at 0x2798, 6912 bytes (h5dump).
	dims := make([]byte, 32)
	for i, d := range []uint64{3, 3, 3, 64} {
		le.PutUint64(dims[8*i:], d)
	}
	layout := append([]byte{3, 1}, make([]byte, 16)...)
	le.PutUint64(layout[2:], 0x2798)
	le.PutUint64(layout[10:], 6912)
	tests := []struct {
		name  string
		find  []byte
		patch func(b []byte, at int)
		want  error
	}{
		{"local heap of a terabyte", []byte("HEAP"), func(b []byte, at int) { le.PutUint64(b[at+8:], 1<<40) }, ErrCorrupt},
		{"local heap beyond the file", []byte("HEAP"), func(b []byte, at int) { le.PutUint64(b[at+24:], uint64(len(b))-10) }, ErrCorrupt},
		{"dataset of 2^40 elements", dims, func(b []byte, at int) { le.PutUint64(b[at+24:], 1<<40) }, ErrTooLarge},
		{"dataset data beyond the file", layout, func(b []byte, at int) { le.PutUint64(b[at+2:], uint64(len(b))-100) }, ErrCorrupt},
		{"symbol-table node of 65535 entries", []byte("SNOD"), func(b []byte, at int) { le.PutUint16(b[at+6:], 0xFFFF) }, ErrCorrupt},
		{"group B-tree of two levels", []byte("TREE"), func(b []byte, at int) { b[at+5] = 1 }, ErrUnsupported},
		{"global heap of a terabyte", []byte("GCOL"), func(b []byte, at int) { le.PutUint64(b[at+8:], 1<<40) }, ErrCorrupt},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(orig)
			at := bytes.Index(b, tc.find)
			if at < 0 {
				t.Fatalf("%q not in the file", tc.find)
			}
			tc.patch(b, at)
			path := filepath.Join(dir, "crafted.h5")
			mustWrite(t, path, b)
			if err := guardedRead(t, path, tc.name); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestCycles checks hand-built files whose structures point back at themselves: the HDF5 library
// follows continuation blocks and chunk B-trees without remembering where it has been.
func TestCycles(t *testing.T) {
	le := binary.LittleEndian
	// superblock returns a version-0 superblock of a file of size bytes whose root object header is at 96.
	superblock := func(size int) []byte {
		b := make([]byte, 96)
		copy(b, "\x89HDF\r\n\x1a\n")
		b[13], b[14] = 8, 8
		le.PutUint16(b[16:], 4)
		le.PutUint16(b[18:], 16)
		le.PutUint64(b[24:], 0)
		le.PutUint64(b[32:], undefAddr)
		le.PutUint64(b[40:], uint64(size))
		le.PutUint64(b[48:], undefAddr)
		le.PutUint64(b[64:], 96)
		return b
	}
	// v1 object header at 96 holding one continuation message to (to, 24).
	continuation := func(to uint64) []byte {
		h := make([]byte, 16+24)
		h[0] = 1
		le.PutUint16(h[2:], 1)
		le.PutUint32(h[4:], 1)
		le.PutUint32(h[8:], 24)
		le.PutUint16(h[16:], msgContinuation)
		le.PutUint16(h[18:], 16)
		le.PutUint64(h[24:], to)
		le.PutUint64(h[32:], 24)
		return h
	}
	tests := []struct {
		name string
		file []byte
	}{
		{"continuation to itself", append(superblock(136), continuation(96+16)...)},
		{"continuation to the header", append(superblock(136), continuation(96)...)},
	}
	dir := t.TempDir()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "cycle.h5")
			mustWrite(t, path, tc.file)
			if err := guardedRead(t, path, tc.name); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
		})
	}
}
