package cuda

import (
	"math"
	"math/rand/v2"
	"testing"

	"fovea/arch"
	"fovea/graph"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// trainingProgram compiles a model's training step (loss, correct count and every gradient) as the
// trainer does, on random inputs and labels.
func trainingProgram(t *testing.T, m arch.Model, batch int, smoothing float64) (*graph.Program, []*tensor.Dense) {
	t.Helper()
	g := G.NewGraph()
	b, err := graph.NewBuilder(g, graph.NewParams(), graph.BuildOptions{Training: true, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	c, h, w := m.InputShape()
	rng := rand.New(rand.NewPCG(3, 4))
	xT := tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(batch, c, h, w))
	for i := range xT.Float32s() {
		xT.Float32s()[i] = float32(rng.NormFloat64())
	}
	yT := tensor.New(tensor.Of(tensor.Int32), tensor.WithShape(batch))
	for i := range yT.Int32s() {
		yT.Int32s()[i] = int32(rng.IntN(m.Classes()))
	}
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(batch, c, h, w), G.WithName("images"), G.WithValue(xT))
	y := G.NewTensor(g, tensor.Int32, 1, G.WithShape(batch), G.WithName("labels"), G.WithValue(yT))
	logits, err := m.Build(b, x)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := G.ApplyOp(graph.SoftmaxCrossEntropy{Smoothing: smoothing}, logits, y)
	if err != nil {
		t.Fatal(err)
	}
	correct, err := G.ApplyOp(graph.CountCorrect{}, logits, y)
	if err != nil {
		t.Fatal(err)
	}
	var wrt G.Nodes
	for _, p := range b.Params().Trainable() {
		if n, ok := b.ParamNode(p.Name); ok {
			wrt = append(wrt, n)
		}
	}
	grads, err := G.Grad(loss, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	outputs := append(G.Nodes{loss, correct}, grads...)
	prog, err := graph.Compile(graph.NewExec(2), outputs...)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := b.StepNode(); ok {
		prog.Value(s).Int64s()[0] = 5
	}
	var outs []*tensor.Dense
	for _, o := range outputs {
		outs = append(outs, prog.Value(o))
	}
	return prog, outs
}

// TestInterpreterMatchesProgram lowers whole training steps to device plans and runs them with the
// kernels' Go emulations: loss, accuracy and every gradient must match the CPU program.
func TestInterpreterMatchesProgram(t *testing.T) {
	for _, tc := range []struct {
		name      string
		model     arch.Model
		batch     int
		smoothing float64
	}{
		{"fcn", arch.FashionFCN{}, 16, 0},
		{"cnn", arch.FashionCNN{}, 4, 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, outs := trainingProgram(t, tc.model, tc.batch, tc.smoothing)
			plan, err := Lower(prog)
			if err != nil {
				t.Fatal(err)
			}
			interp, err := NewInterpreter(plan)
			if err != nil {
				t.Fatal(err)
			}
			defer interp.Close()
			for _, in := range plan.Inputs {
				if err := interp.Upload(in); err != nil {
					t.Fatal(err)
				}
			}
			if err := prog.Run(); err != nil {
				t.Fatal(err)
			}
			want := make([][]float32, len(outs))
			for i, o := range outs {
				want[i] = append([]float32(nil), o.Float32s()...)
				clear(o.Float32s())
			}
			if err := interp.Run(); err != nil {
				t.Fatal(err)
			}
			for i, o := range outs {
				if err := interp.Download(o); err != nil {
					t.Fatal(err)
				}
				if rel := relErr(o.Float32s(), want[i]); rel > 1e-4 || math.IsNaN(rel) {
					t.Errorf("output %d %v: relative error %.3g (device plan vs CPU program)", i, o.Shape(), rel)
				}
			}
			t.Logf("%d buffers, %d launches; loss %.5f, correct %v", len(plan.Buffers), len(plan.Launches), outs[0].Float32s()[0], outs[1].Float32s()[0])
		})
	}
}

// relErr is max |a−b| over max |b| (or the absolute error when b is all zero).
func relErr(a, b []float32) float64 {
	var diff, scale float64
	for i := range b {
		diff = max(diff, math.Abs(float64(a[i])-float64(b[i])))
		scale = max(scale, math.Abs(float64(b[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}
