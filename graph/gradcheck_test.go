package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randDense returns a float64 tensor with entries uniform in [-1, 1).
func randDense(rng *rand.Rand, shape ...int) *tensor.Dense {
	d := tensor.New(tensor.Of(tensor.Float64), tensor.WithShape(shape...))
	for i, v := range d.Float64s() {
		_ = v
		d.Float64s()[i] = 2*rng.Float64() - 1
	}
	return d
}

// input adds a float64 input node holding random values to g.
func input(g *G.ExprGraph, rng *rand.Rand, name string, shape ...int) *G.Node {
	return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(randDense(rng, shape...)))
}

// gradCase builds a graph and returns the output node and the inputs to differentiate.
type gradCase struct {
	name  string
	build func(g *G.ExprGraph, rng *rand.Rand) (out *G.Node, wrt G.Nodes, err error)
	// tol is the allowed |analytic-numeric| / (1 + |numeric|); 0 means 1e-6.
	tol float64
}

// checkGradients compares each op's symbolic gradient with central finite differences in float64: with a
// random upstream gradient R, the analytic gradient of Σ out·R with respect to every element of every wrt
// input must match (f(x+h) - f(x-h)) / 2h. The same graph also runs through Gorgonia's tape machine, whose
// gradients must equal the compiled program's.
func checkGradients(t *testing.T, cases []gradCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			g := G.NewGraph()
			out, wrt, err := tc.build(g, rng)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			var r *G.Node
			if out.IsScalar() {
				r = G.NewScalar(g, tensor.Float64, G.WithName("R"), G.WithValue(tensor.New(tensor.FromScalar(0.5+rng.Float64()))))
			} else {
				r = input(g, rng, "R", out.Shape()...)
			}
			grads, err := G.Backpropagate(G.Nodes{out}, G.Nodes{r}, wrt)
			if err != nil {
				t.Fatalf("backpropagate: %v", err)
			}
			exec := NewExec(2)
			defer exec.Close()
			prog, err := Compile(exec, append(G.Nodes{out}, grads...)...)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			if err := prog.Run(); err != nil {
				t.Fatalf("run: %v", err)
			}
			analytic := make([][]float64, len(grads))
			for i, gn := range grads {
				analytic[i] = append([]float64(nil), prog.Value(gn).Float64s()...)
			}
			rv := prog.Value(r).Float64s()
			objective := func() float64 {
				if err := prog.Run(); err != nil {
					t.Fatalf("run: %v", err)
				}
				var s float64
				for i, v := range prog.Value(out).Float64s() {
					s += v * rv[i]
				}
				return s
			}
			tol := tc.tol
			if tol == 0 {
				tol = 1e-6
			}
			const h = 1e-6
			for i, w := range wrt {
				x := prog.Value(w).Float64s()
				for j := range x {
					orig := x[j]
					x[j] = orig + h
					fp := objective()
					x[j] = orig - h
					fm := objective()
					x[j] = orig
					num := (fp - fm) / (2 * h)
					if d := math.Abs(analytic[i][j] - num); d > tol*(1+math.Abs(num)) || math.IsNaN(analytic[i][j]) {
						t.Fatalf("d/d%s[%d]: analytic %.9g, numeric %.9g", w.Name(), j, analytic[i][j], num)
					}
				}
			}
			// The tape machine must agree with the compiled program.
			vm := G.NewTapeMachine(g)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatalf("tape machine: %v", err)
			}
			for i, gn := range grads {
				d, err := asDense(gn.Value())
				if err != nil {
					t.Fatalf("tape machine value of %v: %v", gn, err)
				}
				for j, v := range d.Float64s() {
					if math.Abs(v-analytic[i][j]) > 1e-9*(1+math.Abs(v)) {
						t.Fatalf("tape machine d/d%s[%d] = %g, program %g", wrt[i].Name(), j, v, analytic[i][j])
					}
				}
			}
		})
	}
}
