package arch

import (
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/graph"
)

// build adds m to a fresh graph for a batch of n and returns its summary, parameters and logits.
func build(t *testing.T, m Model, n int) (string, *graph.Params, *G.Node) {
	t.Helper()
	g := G.NewGraph()
	params := graph.NewParams()
	b, err := graph.NewBuilder(g, params, graph.BuildOptions{Training: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, h, w := m.InputShape()
	x := G.NewTensor(g, tensor.Float32, 4, G.WithShape(n, c, h, w), G.WithName("x"))
	logits, err := m.Build(b, x)
	if err != nil {
		t.Fatalf("build %s: %v", m.Name(), err)
	}
	if want := (tensor.Shape{n, m.Classes()}); !logits.Shape().Eq(want) {
		t.Fatalf("%s logits shape %v, want %v", m.Name(), logits.Shape(), want)
	}
	return graph.FormatSummary(m.Name(), b.Layers(), params), params, logits
}

func TestParameterCounts(t *testing.T) {
	cases := []struct {
		model Model
		want  string
	}{
		// Keras' model.summary() of Géron's CNN reports 1,413,834 parameters.
		{FashionCNN{}, "Total params: 1,413,834"},
		// 784·300+300 + 300·100+100 + 100·10+10.
		{FashionFCN{}, "Total params: 266,610"},
	}
	for _, tc := range cases {
		t.Run(tc.model.Name(), func(t *testing.T) {
			summary, _, _ := build(t, tc.model, 2)
			if !strings.Contains(summary, tc.want) {
				t.Fatalf("summary lacks %q:\n%s", tc.want, summary)
			}
			t.Log("\n" + summary)
		})
	}
}
