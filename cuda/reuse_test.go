package cuda

import (
	"strings"
	"testing"

	"fovea/arch"
)

// TestLayoutReuse checks that a training step does its layout work once: each convolution's input
// goes through im2col once (its forward pass; the kernel gradient reads the kept matrix) and each
// output gradient is gathered once (for the input and kernel gradients both). With no memory to keep
// them in, the backward pass recomputes them. Either way the plan computes what the program does.
func TestLayoutReuse(t *testing.T) {
	for _, tc := range []struct {
		name        string
		model       arch.Model
		keepBytes   int64
		im2col      int // launches
		gather      int
		keptBuffers int
	}{
		// Five convolutions; the first has no input gradient, so four output gradients are gathered
		// twice over without reuse.
		{"cnn", arch.FashionCNN{}, keptLayoutBytes, 5, 5, 5 + 4},
		{"cnn without memory to keep", arch.FashionCNN{}, 0, 10, 9, 0},
		// The residual network's projection shortcuts read the same input as the units' first
		// convolutions, with another window: those are separate matrices.
		{"resnet-small", smallResNet, keptLayoutBytes, 6, 6, 6 + 5},
		{"resnet-small without memory to keep", smallResNet, 0, 12, 11, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, outs := trainingProgram(t, tc.model, 3, 0.1)
			plan, err := lower(prog, tc.keepBytes)
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, l := range plan.Launches {
				count[l.Kernel]++
			}
			kept := 0
			for _, b := range plan.Buffers {
				if strings.HasPrefix(b.Name, "im2col of ") || strings.HasPrefix(b.Name, "gathered ") {
					kept++
				}
			}
			if count["im2col"] != tc.im2col || count["gather_channels"] != tc.gather || kept != tc.keptBuffers {
				t.Errorf("%d im2col and %d gather_channels launches, %d kept buffers; want %d, %d and %d",
					count["im2col"], count["gather_channels"], kept, tc.im2col, tc.gather, tc.keptBuffers)
			}
			interp, err := NewInterpreter(plan)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstProgram(t, interp, plan, prog, outs)
		})
	}
}
