package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestFusedProgramMatchesTapeMachine builds a small CNN with its loss and gradients and checks that the
// compiled program, which fuses Conv2D → BiasAdd → ReLU and Dense → ReLU, computes exactly what
// Gorgonia's tape machine computes op by op.
func TestFusedProgramMatchesTapeMachine(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := G.NewGraph()
	x := input(g, rng, "x", 2, 1, 6, 6)
	w1, b1 := input(g, rng, "w1", 3, 1, 3, 3), input(g, rng, "b1", 3)
	w2, b2 := input(g, rng, "w2", 27, 8), input(g, rng, "b2", 8)
	w3, b3 := input(g, rng, "w3", 8, 4), input(g, rng, "b3", 4)
	must := func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	pad, _ := Pad2D(Same, 6, 6, 3, 3, 1, 1)
	h := must(G.ApplyOp(Conv2D{StrideH: 1, StrideW: 1, Pad: pad}, x, w1))
	h = must(G.ApplyOp(BiasAdd{}, h, b1))
	h = must(G.ApplyOp(ReLU{}, h))
	h = must(G.ApplyOp(MaxPool2D{Window: Window{KH: 2, KW: 2, StrideH: 2, StrideW: 2}}, h))
	h = must(G.ApplyOp(Reshape{From: tensor.Shape{2, 3, 3, 3}, To: tensor.Shape{2, 27}}, h))
	h = must(G.ApplyOp(Dense{}, h, w2, b2))
	h = must(G.ApplyOp(ReLU{}, h))
	logits := must(G.ApplyOp(Dense{}, h, w3, b3))
	loss := must(G.ApplyOp(SoftmaxCrossEntropy{}, logits, labels(g, 1, 3)))
	wrt := G.Nodes{w1, b1, w2, b2, w3, b3}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(NewExec(2), append(G.Nodes{loss}, grads...)...)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, s := range prog.Steps() {
		kinds[s.Kernel.Kind()] = true
	}
	for _, k := range []string{"conv2d_bias_relu", "dense_relu", "maxpool2d_relu_grad"} {
		if !kinds[k] {
			t.Fatalf("program has no %s kernel; kinds %v", k, kinds)
		}
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for i, gn := range append(G.Nodes{loss}, grads...) {
		want, err := asDense(gn.Value())
		if err != nil {
			t.Fatal(err)
		}
		got := prog.Value(gn).Float64s()
		for j, v := range want.Float64s() {
			if math.Abs(got[j]-v) > 1e-12*(1+math.Abs(v)) {
				t.Fatalf("output %d element %d: program %g, tape machine %g", i, j, got[j], v)
			}
		}
	}
}

// TestBatchNormFoldsIntoConv checks that inference-mode BatchNorm after a convolution (with and without
// a following ReLU) runs as one fused kernel and computes what the tape machine computes.
func TestBatchNormFoldsIntoConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	g := G.NewGraph()
	must := func(n *G.Node, err error) *G.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	x := input(g, rng, "x", 2, 3, 5, 5)
	pad, _ := Pad2D(Same, 5, 5, 3, 3, 1, 1)
	bn := func(h *G.Node, name string) *G.Node {
		c := h.Shape()[1]
		return must(G.ApplyOp(BatchNormInfer{Eps: 1e-3}, h, input(g, rng, name+"g", c), input(g, rng, name+"b", c),
			input(g, rng, name+"m", c), positive(g, rng, name+"v", c)))
	}
	h1 := must(G.ApplyOp(Conv2D{StrideH: 1, StrideW: 1, Pad: pad}, x, input(g, rng, "w1", 4, 3, 3, 3)))
	h1 = must(G.ApplyOp(ReLU{}, bn(h1, "bn1")))
	h2 := must(G.ApplyOp(Conv2D{StrideH: 1, StrideW: 1}, h1, input(g, rng, "w2", 4, 4, 1, 1)))
	h2 = bn(h2, "bn2")
	y := must(G.ApplyOp(Add{}, h2, h1))
	prog, err := Compile(NewExec(2), y)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, s := range prog.Steps() {
		kinds[s.Kernel.Kind()] = true
	}
	if !kinds["conv2d_batchnorm_relu"] || !kinds["conv2d_batchnorm"] {
		t.Fatalf("kernels %v lack the folded batch normalisation", kinds)
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	want, _ := asDense(y.Value())
	for j, v := range want.Float64s() {
		if got := prog.Value(y).Float64s()[j]; math.Abs(got-v) > 1e-12*(1+math.Abs(v)) {
			t.Fatalf("y[%d]: program %g, tape machine %g", j, got, v)
		}
	}
}
