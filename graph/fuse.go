package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Fusion: a program runs some chains of ops as one kernel, so the intermediate activations are never
// written out and read back. The graph and its gradients are unchanged; only execution differs, and only
// where the intermediate nodes have no other consumer and are not requested outputs. Fused groups:
//
//	Conv2D → BiasAdd → ReLU   conv2d_bias_relu (x, w, b)
//	Conv2D → BiasAdd          conv2d_bias      (x, w, b)
//	Dense → ReLU              dense_relu       (x, w, b)

// fusion is a group of nodes that one kernel computes, ending at the node it is keyed by.
type fusion struct {
	kernel Kernel
	inputs G.Nodes
}

// planFusion finds fusable chains in order (a topological order), returning the group ending at each
// fused node and the set of nodes absorbed into a group.
func planFusion(order G.Nodes, outputs G.Nodes) (map[*G.Node]*fusion, map[*G.Node]bool) {
	consumers := map[*G.Node]int{}
	for _, n := range order {
		for _, c := range childrenOf(n) {
			consumers[c]++
		}
	}
	for _, o := range outputs {
		consumers[o] += 2 // a requested output must keep its own buffer
	}
	private := func(n *G.Node) bool { return consumers[n] == 1 }
	fused, absorbed := map[*G.Node]*fusion{}, map[*G.Node]bool{}
	for _, n := range order {
		switch n.Op().(type) {
		case ReLU:
			in := childrenOf(n)[0]
			switch in.Op().(type) {
			case BiasAdd:
				bc := childrenOf(in)
				if conv, ok := bc[0].Op().(Conv2D); ok && private(in) && private(bc[0]) && !absorbed[bc[0]] {
					cc := childrenOf(bc[0])
					fused[n] = &fusion{kernel: convBias{Conv2D: conv, ReLU: true}, inputs: G.Nodes{cc[0], cc[1], bc[1]}}
					absorbed[in], absorbed[bc[0]] = true, true
				}
			case Dense:
				if private(in) {
					fused[n] = &fusion{kernel: denseReLU{}, inputs: childrenOf(in)}
					absorbed[in] = true
				}
			}
		case BiasAdd:
			bc := childrenOf(n)
			if conv, ok := bc[0].Op().(Conv2D); ok && private(bc[0]) {
				if _, done := fused[n]; !done && !willFuseIntoReLU(n, order, private) {
					cc := childrenOf(bc[0])
					fused[n] = &fusion{kernel: convBias{Conv2D: conv}, inputs: G.Nodes{cc[0], cc[1], bc[1]}}
					absorbed[bc[0]] = true
				}
			}
		}
	}
	return fused, absorbed
}

// willFuseIntoReLU reports whether a BiasAdd node is the private input of a ReLU (which then fuses the
// whole chain).
func willFuseIntoReLU(bias *G.Node, order G.Nodes, private func(*G.Node) bool) bool {
	if !private(bias) {
		return false
	}
	for _, n := range order {
		if _, ok := n.Op().(ReLU); ok && childrenOf(n)[0] == bias {
			return true
		}
	}
	return false
}

// convBias is Conv2D followed by a per-channel bias and optionally ReLU, in one pass over the output.
type convBias struct {
	Conv2D
	ReLU bool
}

func (k convBias) Kind() string {
	if k.ReLU {
		return "conv2d_bias_relu"
	}
	return "conv2d_bias"
}

func (k convBias) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	geo, err := k.geometry(ins[0].Shape(), ins[1].Shape())
	if err != nil {
		return err
	}
	if b := ins[2].Shape(); len(b) != 1 || b[0] != geo.o {
		return fmt.Errorf("%s: %w: bias %v for %d filters", k.Kind(), ErrShape, b, geo.o)
	}
	ep := epilogue{relu: k.ReLU}
	if ins[0].Dtype() == tensor.Float32 {
		return convForwardEpilogue(e, geo, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out), floats[float32](ins[2]), ep)
	}
	return convForwardEpilogue(e, geo, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out), floats[float64](ins[2]), ep)
}

// denseReLU is Dense followed by ReLU.
type denseReLU struct{}

func (denseReLU) Kind() string { return "dense_relu" }

func (denseReLU) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	if err := (Dense{}).Exec(e, out, ins); err != nil {
		return err
	}
	if out.Dtype() == tensor.Float32 {
		relu(e, floats[float32](out), floats[float32](out))
	} else {
		relu(e, floats[float64](out), floats[float64](out))
	}
	return nil
}
