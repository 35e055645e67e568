package arch

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/graph"
)

// TestBackbonesMatchPyTorch builds Xception and SqueezeNet in float64 with random weights (random BN
// statistics and biases too), runs them on a random batch, and compares with testdata/torch_backbones.py,
// an independent PyTorch implementation fed the same tensors: the features in inference mode, and in
// training mode (BN with batch statistics) the gradients of Σ features·R, for a random R, with respect to
// parameters spread through each network.
func TestBackbonesMatchPyTorch(t *testing.T) {
	py := findPython(t, "torch")
	cases := []struct {
		bb    Backbone
		grads []string
	}{
		// 71×71 is the smallest input Keras' Xception accepts: features 3×3.
		{Xception{Height: 71, Width: 71}, []string{
			"block1_conv1/kernel", "block1_conv2_bn/gamma", "conv2d/kernel", "block2_sepconv1/depthwise_kernel",
			"block4_sepconv2/pointwise_kernel", "block8_sepconv2/depthwise_kernel", "batch_normalization_3/beta",
			"block13_sepconv2/depthwise_kernel", "block14_sepconv2/pointwise_kernel", "block14_sepconv2_bn/gamma"}},
		// 64×64: features 3×3, through every pool and fire module.
		{SqueezeNet{Height: 64, Width: 64}, []string{
			"conv1/kernel", "conv1/bias", "fire2/squeeze1x1/kernel", "fire3/expand3x3/kernel", "fire5/expand1x1/bias",
			"fire9/expand3x3/kernel", "fire9/squeeze1x1/bias"}},
	}
	for _, tc := range cases {
		t.Run(tc.bb.Name(), func(t *testing.T) {
			start := time.Now()
			rng := rand.New(rand.NewPCG(9, 9))
			params := graph.NewParams()
			c, h, w := tc.bb.InputShape()
			const n = 2
			x := randomTensor(rng, n, c, h, w)

			// Inference: features with the moving statistics.
			g := G.NewGraph()
			b, err := graph.NewBuilder(g, params, graph.BuildOptions{Dtype: tensor.Float64, Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			xn := G.NewTensor(g, tensor.Float64, 4, G.WithShape(n, c, h, w), G.WithName("x"), G.WithValue(x))
			f, err := tc.bb.Features(b, xn)
			if err != nil {
				t.Fatal(err)
			}
			randomiseParams(rng, params)
			features := runProgram(t, f)[0]

			// Training: gradients of Σ features·R through batch-statistics BN.
			g2 := G.NewGraph()
			b2, err := graph.NewBuilder(g2, params, graph.BuildOptions{Dtype: tensor.Float64, Training: true, Seed: 4})
			if err != nil {
				t.Fatal(err)
			}
			xn2 := G.NewTensor(g2, tensor.Float64, 4, G.WithShape(n, c, h, w), G.WithName("x"), G.WithValue(x))
			f2, err := tc.bb.Features(b2, xn2)
			if err != nil {
				t.Fatal(err)
			}
			upstream := randomTensor(rng, f2.Shape()...)
			r := G.NewTensor(g2, tensor.Float64, 4, G.WithShape(f2.Shape()...), G.WithName("R"), G.WithValue(upstream))
			var wrt G.Nodes
			for _, name := range tc.grads {
				node, ok := b2.ParamNode(name)
				if !ok {
					t.Fatalf("no parameter %s", name)
				}
				wrt = append(wrt, node)
			}
			grads, err := G.Backpropagate(G.Nodes{f2}, G.Nodes{r}, wrt)
			if err != nil {
				t.Fatal(err)
			}
			ours := append([][]float64{features}, runProgram(t, grads...)...)
			goTime := time.Since(start)

			// The same tensors through PyTorch.
			dir := t.TempDir()
			writeTensors(t, dir, tc.bb.Name(), params, x, upstream, tc.grads)
			start = time.Now()
			cmd := exec.Command(py, "testdata/torch_backbones.py", dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("torch reference: %v\n%s", err, out)
			}
			theirs := readFloat64s(t, filepath.Join(dir, "out.bin"))
			what := append([]string{"features"}, tc.grads...)
			off := 0
			for i, a := range ours {
				if off+len(a) > len(theirs) {
					t.Fatalf("PyTorch returned %d values, fewer than fovea's", len(theirs))
				}
				rel := maxRelError(a, theirs[off:off+len(a)])
				if rel > 1e-9 {
					t.Errorf("%s: max |fovea − PyTorch| / max |PyTorch| = %.3g", what[i], rel)
				}
				t.Logf("%s (%d values, largest |PyTorch| %.3g): relative error %.3g", what[i], len(a), maxAbs(theirs[off:off+len(a)]), rel)
				off += len(a)
			}
			if off != len(theirs) {
				t.Fatalf("PyTorch returned %d values, fovea %d", len(theirs), off)
			}
			t.Logf("fovea %v (build, forward, training gradients), PyTorch %v", goTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		})
	}
}

// randomTensor is a float64 tensor uniform in [-1, 1).
func randomTensor(rng *rand.Rand, shape ...int) *tensor.Dense {
	d := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	for i := range d.Float64s() {
		d.Float64s()[i] = 2*rng.Float64() - 1
	}
	return d
}

// randomiseParams replaces the values that start constant, so that the comparison sees them: BN
// statistics and affine parameters near their usual ranges, and small biases. Kernels keep their
// Glorot initial values.
func randomiseParams(rng *rand.Rand, params *graph.Params) {
	for _, p := range params.All() {
		v := p.Value.Float64s()
		fill := func(lo, hi float64) {
			for i := range v {
				v[i] = lo + (hi-lo)*rng.Float64()
			}
		}
		switch {
		case strings.HasSuffix(p.Name, "/gamma"), strings.HasSuffix(p.Name, "/moving_variance"):
			fill(0.5, 1.5)
		case strings.HasSuffix(p.Name, "/beta"), strings.HasSuffix(p.Name, "/moving_mean"), strings.HasSuffix(p.Name, "/bias"):
			fill(-0.2, 0.2)
		}
	}
}

// runProgram compiles and runs the graph of outputs and returns copies of their values.
func runProgram(t *testing.T, outputs ...*G.Node) [][]float64 {
	t.Helper()
	e := graph.NewExec(0)
	defer e.Close()
	prog, err := graph.Compile(e, outputs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	out := make([][]float64, len(outputs))
	for i, o := range outputs {
		out[i] = append([]float64(nil), prog.Value(o).Float64s()...)
	}
	return out
}

// writeTensors writes dir/tensors.bin (every parameter, then "input" and "upstream", little-endian
// float64) and dir/case.json, the index torch_backbones.py reads.
func writeTensors(t *testing.T, dir, model string, params *graph.Params, x, upstream *tensor.Dense, grads []string) {
	t.Helper()
	type entry struct {
		Name   string `json:"name"`
		Shape  []int  `json:"shape"`
		Offset int    `json:"offset"`
	}
	var index []entry
	size := x.Shape().TotalSize() + upstream.Shape().TotalSize()
	for _, p := range params.All() {
		size += p.Size()
	}
	buf := make([]byte, 0, 8*size)
	add := func(name string, d *tensor.Dense) {
		index = append(index, entry{Name: name, Shape: d.Shape(), Offset: len(buf) / 8})
		for _, v := range d.Float64s() {
			buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
		}
	}
	for _, p := range params.All() {
		add(p.Name, p.Value)
	}
	add("input", x)
	add("upstream", upstream)
	if err := os.WriteFile(filepath.Join(dir, "tensors.bin"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(map[string]any{"model": model, "tensors": index, "grads": grads})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "case.json"), js, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readFloat64s reads a little-endian float64 file.
func readFloat64s(t *testing.T, path string) []float64 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(raw)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out
}

// maxAbs is max |v|.
func maxAbs(vs []float64) float64 {
	var m float64
	for _, v := range vs {
		m = max(m, math.Abs(v))
	}
	return m
}

// maxRelError is max |a − b| over max |b| (or the absolute error when b is all zero).
func maxRelError(a, b []float64) float64 {
	var diff, scale float64
	for i := range a {
		diff = max(diff, math.Abs(a[i]-b[i]))
		scale = max(scale, math.Abs(b[i]))
	}
	if math.IsNaN(diff) {
		return math.Inf(1)
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}
