package keras

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// squeezeNetFile is the Keras port's SqueezeNet v1.1 ImageNet weights without top, under the data root.
const squeezeNetFile = "keras-weights/squeezenet_weights_tf_dim_ordering_tf_kernels_notop.h5"

// realSqueezeNet returns the path of the real SqueezeNet weights under $FOVEA_DATA, or skips the test.
func realSqueezeNet(t testing.TB) string {
	t.Helper()
	root := os.Getenv("FOVEA_DATA")
	if root == "" {
		t.Skip("$FOVEA_DATA is not set; skipping the test on the real SqueezeNet Keras weights (from the repository root: FOVEA_DATA=$PWD/../shared/data)")
	}
	path := filepath.Join(root, squeezeNetFile)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no SqueezeNet Keras weights under $FOVEA_DATA: %v", err)
	}
	return path
}

// h5py is Debian's Python with h5py, which writes the synthetic files and reads the real one
// independently of fovea.
const h5py = "/usr/bin/python3"

// needH5py skips the test when Debian's python3-h5py is not installed.
func needH5py(t testing.TB) {
	t.Helper()
	if err := exec.Command(h5py, "-c", "import h5py, numpy").Run(); err != nil {
		t.Skipf("Debian's python3-h5py is not installed (%s -c 'import h5py': %v)", h5py, err)
	}
}

// manifest is what testdata/make_keras_h5.py writes beside its files: per file, the layout, attributes
// and every layer's weights with shapes and SHA-256 of their float32 bytes, as stored and in fovea's
// layout (converted by numpy).
type manifest map[string]struct {
	Layout       string `json:"layout"`
	KerasVersion string `json:"keras_version"`
	Backend      string `json:"backend"`
	Layers       []struct {
		Name    string `json:"name"`
		Weights []struct {
			Name        string    `json:"name"`
			Shape       []int     `json:"shape"`
			SHA256      string    `json:"sha256"`
			FoveaShape  []int     `json:"fovea_shape"`
			FoveaSHA256 string    `json:"fovea_sha256"`
			First       []float64 `json:"first"`
		} `json:"weights"`
	} `json:"layers"`
}

// syntheticFiles writes the synthetic Keras files with h5py into a temporary directory and returns it
// with the manifest (skipping the test without h5py).
func syntheticFiles(t *testing.T) (string, manifest) {
	t.Helper()
	needH5py(t)
	dir := t.TempDir()
	if out, err := exec.Command(h5py, filepath.Join("testdata", "make_keras_h5.py"), dir).CombinedOutput(); err != nil {
		t.Fatalf("make_keras_h5.py: %v\n%s", err, out)
	}
	var m manifest
	readManifest(t, filepath.Join(dir, "manifest.json"), &m)
	return dir, m
}

func readManifest(t *testing.T, path string, m *manifest) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, m); err != nil {
		t.Fatal(err)
	}
}

// sha32 is the SHA-256 of float32 values as little-endian bytes, as numpy's tobytes() gives them.
func sha32(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
