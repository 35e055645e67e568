package graph

import (
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// TestProgramLowersGradientSums checks that the additions Gorgonia's autodiff inserts to sum the
// gradients of a node used twice run as fovea's Add kernel, not through Gorgonia's own op.
func TestProgramLowersGradientSums(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	g := G.NewGraph()
	x := input(g, rng, "x", 3, 4)
	r, err := G.ApplyOp(ReLU{}, x)
	if err != nil {
		t.Fatal(err)
	}
	y, err := G.ApplyOp(Add{}, r, x)
	if err != nil {
		t.Fatal(err)
	}
	gy := input(g, rng, "gy", 3, 4)
	grads, err := G.Backpropagate(G.Nodes{y}, G.Nodes{gy}, G.Nodes{x})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(NewExec(1), grads...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range prog.Steps() {
		if s.Kernel == nil {
			t.Fatalf("step %v (%v) runs through Gorgonia, not a fovea kernel", s.Node, s.Op)
		}
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	// dy/dx = 1 + [x > 0].
	xv, gv, dx := prog.Value(x).Float64s(), prog.Value(gy).Float64s(), prog.Value(grads[0]).Float64s()
	for i := range xv {
		want := gv[i]
		if xv[i] > 0 {
			want *= 2
		}
		if dx[i] != want {
			t.Fatalf("dx[%d] = %v, want %v", i, dx[i], want)
		}
	}
}

// TestProgramReusesBuffers checks that a deep chain of ops reuses freed buffers (memory planning) and
// still computes what the tape machine computes.
func TestProgramReusesBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	g := G.NewGraph()
	x := input(g, rng, "x", 4, 6)
	h := x
	var err error
	for i := 0; i < 6; i++ {
		if h, err = G.ApplyOp(Add{}, h, x); err != nil {
			t.Fatal(err)
		}
		if h, err = G.ApplyOp(ReLU{}, h); err != nil {
			t.Fatal(err)
		}
	}
	gy := input(g, rng, "gy", 4, 6)
	grads, err := G.Backpropagate(G.Nodes{h}, G.Nodes{gy}, G.Nodes{x})
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Compile(NewExec(2), h, grads[0])
	if err != nil {
		t.Fatal(err)
	}
	distinct := map[uintptr]bool{}
	for _, s := range prog.Steps() {
		distinct[s.Out.Uintptr()] = true
	}
	if len(distinct) >= len(prog.Steps()) {
		t.Fatalf("%d steps use %d distinct output buffers: nothing was reused", len(prog.Steps()), len(distinct))
	}
	if err := prog.Run(); err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*G.Node{h, grads[0]} {
		want, err := asDense(n.Value())
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range want.Float64s() {
			if got := prog.Value(n).Float64s()[j]; got != v {
				t.Fatalf("%v[%d]: program %v, tape machine %v", n, j, got, v)
			}
		}
	}
	t.Logf("%d steps, %d distinct output buffers", len(prog.Steps()), len(distinct))
}
