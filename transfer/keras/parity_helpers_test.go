package keras

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/arch"
	"fovea/graph"
	"fovea/training"
)

// needTorch skips the test when Debian's python3-torch (with h5py and numpy) is not installed: the
// parity tests compare fovea with testdata/keras_h5_torch.py, which reads the Keras files itself.
func needTorch(t testing.TB) {
	t.Helper()
	if out, err := exec.Command(h5py, "-c", "import torch, h5py, numpy").CombinedOutput(); err != nil {
		t.Skipf("Debian's python3-torch and python3-h5py are needed for the PyTorch parity test (%s -c 'import torch, h5py': %v: %s)",
			h5py, err, strings.TrimSpace(string(out)))
	}
}

// runPython runs one of the testdata scripts with Debian's Python and fails the test with its output
// when it fails.
func runPython(t testing.TB, script string, args ...string) string {
	t.Helper()
	cmd := exec.Command(h5py, append([]string{filepath.Join("testdata", script)}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", script, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// backboneFeatures builds bb in float32 evaluation mode (BatchNorm with its moving statistics) on the
// NCHW batch x of n images, loads the safetensors weights file strictly (every parameter, nothing
// else), runs the forward pass as the training pipeline's programs do and returns the features with
// their shape.
func backboneFeatures(t testing.TB, bb arch.Backbone, weights string, x []float32, n int) ([]float32, []int) {
	t.Helper()
	c, h, w := bb.InputShape()
	if len(x) != n*c*h*w {
		t.Fatalf("input of %d values for %d images of %d×%d×%d", len(x), n, c, h, w)
	}
	g := G.NewGraph()
	params := graph.NewParams()
	b, err := graph.NewBuilder(g, params, graph.BuildOptions{Dtype: tensor.Float32})
	if err != nil {
		t.Fatal(err)
	}
	input := tensor.New(tensor.WithShape(n, c, h, w), tensor.WithBacking(x))
	xn := G.NewTensor(g, tensor.Float32, 4, G.WithShape(n, c, h, w), G.WithName("images"), G.WithValue(input))
	f, err := bb.Features(b, xn)
	if err != nil {
		t.Fatalf("build %s: %v", bb.Name(), err)
	}
	tensors, _, err := training.LoadCheckpoint(weights)
	if err != nil {
		t.Fatal(err)
	}
	if err := training.LoadParamTensors(params, tensors, ""); err != nil {
		t.Fatalf("load %s into %s: %v", weights, bb.Name(), err)
	}
	e := graph.NewExec(0)
	defer e.Close()
	prog, err := graph.Compile(e, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Run(); err != nil {
		t.Fatalf("%s forward pass: %v", bb.Name(), err)
	}
	return append([]float32(nil), prog.Value(f).Float32s()...), []int(f.Shape())
}

// torchFeatures runs testdata/keras_h5_torch.py: the independent PyTorch model reads the Keras file
// itself and computes, in float64, the features of the same float32 input batch (shape nchw).
func torchFeatures(t testing.TB, model, h5 string, x []float32, nchw [4]int) []float64 {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "input.bin"), filepath.Join(dir, "features.bin")
	writeFloat32s(t, in, x)
	args := []string{model, h5, in}
	for _, d := range nchw {
		args = append(args, fmt.Sprint(d))
	}
	t.Log(runPython(t, "keras_h5_torch.py", append(args, out)...))
	return readFloat64s(t, out)
}

// writeFloat32s writes v as little-endian float32.
func writeFloat32s(t testing.TB, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readFloat64s reads a little-endian float64 file.
func readFloat64s(t testing.TB, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%8 != 0 {
		t.Fatalf("%s: %d bytes is not a whole number of float64 values", path, len(b))
	}
	v := make([]float64, len(b)/8)
	for i := range v {
		v[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return v
}

// relativeError is max |got − want| over max |want|: the error relative to the scale of the features.
// NaN anywhere, or a reference that is all zero, gives +Inf so that the comparison fails.
func relativeError(got []float32, want []float64) float64 {
	var diff, scale float64
	for i, w := range want {
		d := math.Abs(float64(got[i]) - w)
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		diff, scale = max(diff, d), max(scale, math.Abs(w))
	}
	if scale == 0 {
		return math.Inf(1)
	}
	return diff / scale
}
