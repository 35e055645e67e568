package graph

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// torchPython returns a Python interpreter that can import torch ($FOVEA_PYTHON, python3, or Debian's
// /usr/bin/python3), or skips the test.
func torchPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{os.Getenv("FOVEA_PYTHON"), "python3", "/usr/bin/python3"} {
		if py == "" {
			continue
		}
		if err := exec.Command(py, "-c", "import torch").Run(); err == nil {
			return py
		}
	}
	t.Skip("no Python with PyTorch found (install Debian's python3-torch or set FOVEA_PYTHON): skipping the PyTorch parity check")
	return ""
}

// parityCase is one op applied to random float64 inputs, in the JSON form testdata/torch_ops.py reads.
type parityCase map[string]any

// TestOpsMatchPyTorch runs fovea's ops and an independent PyTorch implementation on the same random
// inputs and compares outputs and gradients (float64, relative error < 1e-9).
func TestOpsMatchPyTorch(t *testing.T) {
	py := torchPython(t)
	rng := rand.New(rand.NewPCG(7, 7))
	type spec struct {
		name   string
		op     G.Op
		shapes map[string][]int // inputs in argument order: x, w, b
		order  []string
		consts []string // inputs that are not differentiated (moving statistics), drawn positive
		extra  parityCase
		labels []int32
	}
	same := func(h, w, k, s int) Padding {
		p, err := Pad2D(Same, h, w, k, k, s, s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	pad := func(p Padding) []int { return []int{p.Top, p.Bottom, p.Left, p.Right} }
	specs := []spec{
		{name: "conv 3x3 same", op: Conv2D{StrideH: 1, StrideW: 1, Pad: same(6, 6, 3, 1)}, order: []string{"x", "w"},
			shapes: map[string][]int{"x": {2, 3, 6, 6}, "w": {4, 3, 3, 3}}, extra: parityCase{"op": "conv2d", "stride": 1, "pad": pad(same(6, 6, 3, 1))}},
		{name: "conv 3x3 stride 2 same even (asymmetric)", op: Conv2D{StrideH: 2, StrideW: 2, Pad: same(8, 8, 3, 2)}, order: []string{"x", "w"},
			shapes: map[string][]int{"x": {2, 2, 8, 8}, "w": {3, 2, 3, 3}}, extra: parityCase{"op": "conv2d", "stride": 2, "pad": pad(same(8, 8, 3, 2))}},
		{name: "conv 7x7 same", op: Conv2D{StrideH: 1, StrideW: 1, Pad: same(9, 9, 7, 1)}, order: []string{"x", "w"},
			shapes: map[string][]int{"x": {1, 1, 9, 9}, "w": {5, 1, 7, 7}}, extra: parityCase{"op": "conv2d", "stride": 1, "pad": pad(same(9, 9, 7, 1))}},
		{name: "conv 7x7 stride 2 same (ResNet stem)", op: Conv2D{StrideH: 2, StrideW: 2, Pad: same(12, 12, 7, 2)}, order: []string{"x", "w"},
			shapes: map[string][]int{"x": {1, 3, 12, 12}, "w": {4, 3, 7, 7}}, extra: parityCase{"op": "conv2d", "stride": 2, "pad": pad(same(12, 12, 7, 2))}},
		{name: "maxpool 2 valid", op: MaxPool2D{Window: Window{KH: 2, KW: 2, StrideH: 2, StrideW: 2}}, order: []string{"x"},
			shapes: map[string][]int{"x": {2, 3, 7, 7}}, extra: parityCase{"op": "maxpool2d", "k": 2, "stride": 2}},
		{name: "maxpool 3 stride 2 same", op: MaxPool2D{Window: Window{KH: 3, KW: 3, StrideH: 2, StrideW: 2, Pad: same(8, 8, 3, 2)}}, order: []string{"x"},
			shapes: map[string][]int{"x": {1, 2, 8, 8}}, extra: parityCase{"op": "maxpool2d", "k": 3, "stride": 2, "pad": pad(same(8, 8, 3, 2))}},
		{name: "avgpool 3 stride 2 same", op: AvgPool2D{Window: Window{KH: 3, KW: 3, StrideH: 2, StrideW: 2, Pad: same(8, 8, 3, 2)}}, order: []string{"x"},
			shapes: map[string][]int{"x": {1, 2, 8, 8}}, extra: parityCase{"op": "avgpool2d", "k": 3, "stride": 2, "pad": pad(same(8, 8, 3, 2))}},
		{name: "batchnorm train", op: BatchNormTrain{Eps: 1e-3}, order: []string{"x", "gamma", "beta"},
			shapes: map[string][]int{"x": {4, 3, 3, 3}, "gamma": {3}, "beta": {3}}, extra: parityCase{"op": "batchnorm_train", "eps": 1e-3}},
		{name: "batchnorm infer", op: BatchNormInfer{Eps: 1e-3}, order: []string{"x", "gamma", "beta"}, consts: []string{"mean", "var"},
			shapes: map[string][]int{"x": {2, 3, 2, 2}, "gamma": {3}, "beta": {3}, "mean": {3}, "var": {3}}, extra: parityCase{"op": "batchnorm_infer", "eps": 1e-3}},
		{name: "global average pooling", op: GlobalAvgPool{}, order: []string{"x"},
			shapes: map[string][]int{"x": {2, 3, 4, 5}}, extra: parityCase{"op": "global_avgpool"}},
		{name: "dense", op: Dense{}, order: []string{"x", "w", "b"},
			shapes: map[string][]int{"x": {4, 6}, "w": {6, 3}, "b": {3}}, extra: parityCase{"op": "dense"}},
		{name: "softmax cross-entropy", op: SoftmaxCrossEntropy{}, order: []string{"x"}, labels: []int32{2, 0, 4},
			shapes: map[string][]int{"x": {3, 5}}, extra: parityCase{"op": "softmax_cross_entropy"}},
		{name: "softmax cross-entropy, label smoothing", op: SoftmaxCrossEntropy{Smoothing: 0.1}, order: []string{"x"}, labels: []int32{1, 1, 3},
			shapes: map[string][]int{"x": {3, 5}}, extra: parityCase{"op": "softmax_cross_entropy", "smoothing": 0.1}},
	}
	type result struct {
		out   []float64
		grads map[string][]float64
	}
	var cases []parityCase
	var ours []result
	for _, s := range specs {
		g := G.NewGraph()
		c := parityCase{}
		for k, v := range s.extra {
			c[k] = v
		}
		var args, wrt G.Nodes
		for _, name := range s.order {
			n := input(g, rng, name, s.shapes[name]...)
			args, wrt = append(args, n), append(wrt, n)
			c[name] = n.Value().(*tensor.Dense).Float64s()
			c[name+"_shape"] = s.shapes[name]
		}
		for _, name := range s.consts {
			n := positive(g, rng, name, s.shapes[name]...)
			args = append(args, n)
			c[name] = n.Value().(*tensor.Dense).Float64s()
			c[name+"_shape"] = s.shapes[name]
		}
		if s.labels != nil {
			args = append(args, labels(g, s.labels...))
			c["labels"] = s.labels
		}
		y, err := G.ApplyOp(s.op, args...)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		var gy *G.Node
		if y.IsScalar() {
			gy = G.NewScalar(g, tensor.Float64, G.WithName("gy"), G.WithValue(tensor.New(tensor.FromScalar(1.5))))
			c["gy"] = []float64{1.5}
		} else {
			gy = input(g, rng, "gy", y.Shape()...)
			c["gy"] = gy.Value().(*tensor.Dense).Float64s()
		}
		grads, err := G.Backpropagate(G.Nodes{y}, G.Nodes{gy}, wrt)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		e := NewExec(2)
		prog, err := Compile(e, append(G.Nodes{y}, grads...)...)
		if err != nil {
			t.Fatal(err)
		}
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		r := result{out: append([]float64(nil), prog.Value(y).Float64s()...), grads: map[string][]float64{}}
		for i, name := range s.order {
			r.grads[name] = append([]float64(nil), prog.Value(grads[i]).Float64s()...)
		}
		e.Close()
		cases, ours = append(cases, c), append(ours, r)
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/torch_ops.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outJSON, err := cmd.Output()
	if err != nil {
		t.Fatalf("torch reference: %v\n%s", err, stderr.String())
	}
	var theirs []map[string][]float64
	if err := json.Unmarshal(outJSON, &theirs); err != nil {
		t.Fatal(err)
	}
	for i, s := range specs {
		compare := func(what string, a, b []float64) {
			if len(a) != len(b) {
				t.Fatalf("%s %s: %d values, PyTorch %d", s.name, what, len(a), len(b))
			}
			for j := range a {
				if d := math.Abs(a[j] - b[j]); d > 1e-9*(1+math.Abs(b[j])) {
					t.Fatalf("%s %s[%d]: fovea %.12g, PyTorch %.12g", s.name, what, j, a[j], b[j])
				}
			}
		}
		compare("output", ours[i].out, theirs[i]["y"])
		for _, name := range s.order {
			compare("d/d"+name, ours[i].grads[name], theirs[i]["g"+name])
		}
	}
	t.Logf("%d ops match PyTorch %s", len(specs), py)
}
