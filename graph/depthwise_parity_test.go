package graph

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestDepthwiseConcatMatchPyTorch checks DepthwiseConv2D and Concat, forward and gradients, against
// testdata/torch_ops.py (F.conv2d with groups = C on explicitly padded input, torch.cat), in float64 with
// relative error < 1e-9, as TestOpsMatchPyTorch does for the other ops.
func TestDepthwiseConcatMatchPyTorch(t *testing.T) {
	py := torchPython(t)
	rng := rand.New(rand.NewPCG(11, 5))
	type spec struct {
		name   string
		op     G.Op
		order  []string
		shapes map[string][]int
		extra  parityCase
	}
	pad := func(p Padding) []int { return []int{p.Top, p.Bottom, p.Left, p.Right} }
	depthwise := func(name string, tc dwCase) spec {
		op := tc.op(t)
		return spec{name: name, op: op, order: []string{"x", "w"},
			shapes: map[string][]int{"x": {tc.n, tc.c, tc.h, tc.w}, "w": {tc.c * tc.m, 1, tc.kh, tc.kw}},
			extra:  parityCase{"op": "depthwise_conv2d", "stride": []int{tc.sh, tc.sw}, "pad": pad(op.Pad)}}
	}
	concat := func(name string, axis int, shapes ...[]int) spec {
		s := spec{name: name, op: Concat{Axis: axis, N: len(shapes)}, shapes: map[string][]int{}}
		for i, sh := range shapes {
			in := string(rune('a' + i))
			s.order = append(s.order, in)
			s.shapes[in] = sh
		}
		s.extra = parityCase{"op": "concat", "axis": axis, "inputs": s.order}
		return s
	}
	specs := []spec{
		depthwise("depthwise 3x3 same (Xception)", dwCase{n: 2, c: 3, h: 6, w: 6, m: 1, kh: 3, kw: 3, sh: 1, sw: 1, mode: Same}),
		depthwise("depthwise 3x3 stride 2 same even (asymmetric)", dwCase{n: 2, c: 2, h: 8, w: 8, m: 1, kh: 3, kw: 3, sh: 2, sw: 2, mode: Same}),
		depthwise("depthwise 3x3 valid, multiplier 2", dwCase{n: 1, c: 3, h: 7, w: 6, m: 2, kh: 3, kw: 3, sh: 1, sw: 1, mode: Valid}),
		depthwise("depthwise 5x3 strides 2x1 same, multiplier 3", dwCase{n: 2, c: 2, h: 9, w: 7, m: 3, kh: 5, kw: 3, sh: 2, sw: 1, mode: Same}),
		concat("concat two on channels (fire module)", 1, []int{2, 3, 4, 4}, []int{2, 5, 4, 4}),
		concat("concat three on channels", 1, []int{2, 1, 3, 2}, []int{2, 4, 3, 2}, []int{2, 2, 3, 2}),
		concat("concat on the last axis", 3, []int{2, 2, 3, 1}, []int{2, 2, 3, 4}),
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
		var args G.Nodes
		for _, name := range s.order {
			n := input(g, rng, name, s.shapes[name]...)
			args = append(args, n)
			c[name] = n.Value().(*tensor.Dense).Float64s()
			c[name+"_shape"] = s.shapes[name]
		}
		y, err := G.ApplyOp(s.op, args...)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		gy := input(g, rng, "gy", y.Shape()...)
		c["gy"] = gy.Value().(*tensor.Dense).Float64s()
		grads, err := G.Backpropagate(G.Nodes{y}, G.Nodes{gy}, args)
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
	t.Logf("%d depthwise and concat cases match PyTorch %s", len(specs), py)
}
