package keras

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadWeights feeds ReadWeights mutated HDF5 files: it must return (an error or weights) without
// panicking, hanging or allocating without bound. The seeds are small Keras files written by h5py
// (testdata/make_keras_h5.py); run with go test -fuzz FuzzReadWeights ./transfer/keras/.
func FuzzReadWeights(f *testing.F) {
	for _, name := range []string{"small_weights.h5", "small_gzip.h5"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "w.h5")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if f, err := ReadWeights(path); err == nil && f == nil {
			t.Fatal("nil file without an error")
		}
	})
}
