package layers

import (
	"errors"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"fovea/graph"
)

func TestDepthwiseMaxPool(t *testing.T) {
	cases := []struct {
		name    string
		k       int
		in      tensor.Shape
		want    tensor.Shape
		wantErr string // "": success; "shape": an error wrapping graph.ErrShape; "any": any error
	}{
		{name: "RGB to one channel", k: 3, in: tensor.Shape{2, 3, 8, 8}, want: tensor.Shape{2, 1, 8, 8}},
		{name: "pairs", k: 2, in: tensor.Shape{1, 6, 4, 5}, want: tensor.Shape{1, 3, 4, 5}},
		{name: "not divisible", k: 4, in: tensor.Shape{1, 6, 4, 4}, wantErr: "shape"},
		{name: "not NCHW", k: 2, in: tensor.Shape{4, 6}, wantErr: "shape"},
		{name: "zero pool size", k: 0, in: tensor.Shape{1, 6, 4, 4}, wantErr: "any"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := G.NewGraph()
			b, err := graph.NewBuilder(g, graph.NewParams(), graph.BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			x := G.NewTensor(g, tensor.Float32, len(tc.in), G.WithShape(tc.in...), G.WithName("x"))
			y, err := DepthwiseMaxPool(tc.k)(b, x)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr == "any" && err == nil, tc.wantErr == "shape" && !errors.Is(err, graph.ErrShape):
				t.Fatalf("error %v, want a %s error", err, tc.wantErr)
			case tc.wantErr == "":
				if !y.Shape().Eq(tc.want) {
					t.Fatalf("output shape %v, want %v", y.Shape(), tc.want)
				}
				rows := b.Layers()
				if len(rows) != 1 || rows[0].Type != "DepthwiseMaxPool" || rows[0].Params != 0 {
					t.Fatalf("summary %+v, want one DepthwiseMaxPool row without parameters", rows)
				}
			}
		})
	}
}
