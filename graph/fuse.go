package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Fusion: a program runs some chains of ops as one kernel, so the intermediate activations are never
// written out and read back. The graph and its gradients are unchanged; only execution differs, and only
// where the intermediate nodes have no other consumer and are not requested outputs. Fused groups:
//
//	Conv2D → BiasAdd → ReLU          conv2d_bias_relu      (x, w, b)
//	Conv2D → BiasAdd                 conv2d_bias           (x, w, b)
//	Conv2D → BatchNormInfer → ReLU   conv2d_batchnorm_relu (x, w, γ, β, mean, variance)
//	Conv2D → BatchNormInfer          conv2d_batchnorm      (x, w, γ, β, mean, variance)
//	Dense → ReLU                     dense_relu            (x, w, b)
//	MaxPool2DGrad → ReLUGrad         maxpool2d_relu_grad   (x, y, dy), when x is the ReLU output
//	                                                       both read (the gradient of ReLU → MaxPool)
//
// Inference-mode batch normalisation is a per-channel affine map, so it folds into the convolution's
// epilogue (a frozen backbone runs in inference mode).

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
					fused[n] = &fusion{kernel: ConvBias{Conv2D: conv, ReLU: true}, inputs: G.Nodes{cc[0], cc[1], bc[1]}}
					absorbed[in], absorbed[bc[0]] = true, true
				}
			case Dense:
				if private(in) {
					fused[n] = &fusion{kernel: DenseReLU{}, inputs: childrenOf(in)}
					absorbed[in] = true
				}
			case BatchNormInfer:
				bc := childrenOf(in)
				if conv, ok := bc[0].Op().(Conv2D); ok && private(in) && private(bc[0]) && !absorbed[bc[0]] {
					cc := childrenOf(bc[0])
					bn := in.Op().(BatchNormInfer)
					fused[n] = &fusion{kernel: ConvBN{Conv2D: conv, Eps: bn.Eps, ReLU: true}, inputs: append(G.Nodes{cc[0], cc[1]}, bc[1:]...)}
					absorbed[in], absorbed[bc[0]] = true, true
				}
			}
		case ReLUGrad:
			ys, grad := childrenOf(n)[0], childrenOf(n)[1]
			if pool, ok := grad.Op().(MaxPool2DGrad); ok && private(grad) && childrenOf(grad)[0] == ys {
				fused[n] = &fusion{kernel: MaxPoolReLUGrad{Window: pool.Window}, inputs: childrenOf(grad)}
				absorbed[grad] = true
			}
		case BatchNormInfer:
			bc := childrenOf(n)
			if conv, ok := bc[0].Op().(Conv2D); ok && private(bc[0]) && !absorbed[bc[0]] && !willFuseIntoReLU(n, order, private) {
				cc := childrenOf(bc[0])
				fused[n] = &fusion{kernel: ConvBN{Conv2D: conv, Eps: n.Op().(BatchNormInfer).Eps}, inputs: append(G.Nodes{cc[0], cc[1]}, bc[1:]...)}
				absorbed[bc[0]] = true
			}
		case BiasAdd:
			bc := childrenOf(n)
			if conv, ok := bc[0].Op().(Conv2D); ok && private(bc[0]) {
				if _, done := fused[n]; !done && !willFuseIntoReLU(n, order, private) {
					cc := childrenOf(bc[0])
					fused[n] = &fusion{kernel: ConvBias{Conv2D: conv}, inputs: G.Nodes{cc[0], cc[1], bc[1]}}
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

// ConvBias (a fused kernel) is Conv2D followed by a per-channel bias and optionally ReLU, in one pass over the output.
type ConvBias struct {
	Conv2D
	ReLU bool
}

func (k ConvBias) Kind() string {
	if k.ReLU {
		return "conv2d_bias_relu"
	}
	return "conv2d_bias"
}

func (k ConvBias) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	geo, err := k.geometry(ins[0].Shape(), ins[1].Shape())
	if err != nil {
		return err
	}
	if b := ins[2].Shape(); len(b) != 1 || b[0] != geo.o {
		return fmt.Errorf("%s: %w: bias %v for %d filters", k.Kind(), ErrShape, b, geo.o)
	}
	ep := epilogue{relu: k.ReLU}
	if ins[0].Dtype() == tensor.Float32 {
		return convForwardEpilogue(e, geo, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](out), nil, floats[float32](ins[2]), ep)
	}
	return convForwardEpilogue(e, geo, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](out), nil, floats[float64](ins[2]), ep)
}

// MaxPoolReLUGrad (a fused kernel) is ReLUGrad(x, MaxPool2DGrad(x, y, dy)) for the ReLU output x that a
// max pooling read: the pooling's gradient, kept only where the window's maximum is positive.
type MaxPoolReLUGrad struct{ Window Window }

func (MaxPoolReLUGrad) Kind() string { return "maxpool2d_relu_grad" }

func (k MaxPoolReLUGrad) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	g, err := k.Window.geometry(k.Kind(), ins[0].Shape())
	if err != nil {
		return err
	}
	if ins[0].Dtype() == tensor.Float32 {
		maxPoolGrad(e, g, floats[float32](ins[0]), floats[float32](ins[1]), floats[float32](ins[2]), floats[float32](out), true)
	} else {
		maxPoolGrad(e, g, floats[float64](ins[0]), floats[float64](ins[1]), floats[float64](ins[2]), floats[float64](out), true)
	}
	return nil
}

// DenseReLU (a fused kernel) is Dense followed by ReLU.
type DenseReLU struct{}

func (DenseReLU) Kind() string { return "dense_relu" }

func (DenseReLU) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
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

// ConvBN (a fused kernel) is Conv2D followed by inference-mode BatchNorm (γ·(v-mean)/√(var+ε) + β per channel), optionally
// then ReLU: inputs (x, w, γ, β, mean, variance).
type ConvBN struct {
	Conv2D
	Eps  float64
	ReLU bool
}

func (k ConvBN) Kind() string {
	if k.ReLU {
		return "conv2d_batchnorm_relu"
	}
	return "conv2d_batchnorm"
}

func (k ConvBN) Exec(e *Exec, out *tensor.Dense, ins []*tensor.Dense) error {
	geo, err := k.geometry(ins[0].Shape(), ins[1].Shape())
	if err != nil {
		return err
	}
	for _, v := range ins[2:] {
		if s := v.Shape(); len(s) != 1 || s[0] != geo.o {
			return fmt.Errorf("%s: %w: batch normalisation vector %v for %d filters", k.Kind(), ErrShape, s, geo.o)
		}
	}
	if ins[0].Dtype() == tensor.Float32 {
		return convBNForward[float32](e, geo, k.Eps, k.ReLU, out, ins)
	}
	return convBNForward[float64](e, geo, k.Eps, k.ReLU, out, ins)
}

func convBNForward[T Float](e *Exec, g convGeometry, eps float64, relu bool, out *tensor.Dense, ins []*tensor.Dense) error {
	gamma, beta, mean, variance := floats[T](ins[2]), floats[T](ins[3]), floats[T](ins[4]), floats[T](ins[5])
	affine := scratch[T](e, 4, 2*g.o)
	scale, shift := affine[:g.o], affine[g.o:]
	for c := range scale {
		s := float64(gamma[c]) / math.Sqrt(float64(variance[c])+eps)
		scale[c], shift[c] = T(s), T(float64(beta[c])-float64(mean[c])*s)
	}
	return convForwardEpilogue(e, g, floats[T](ins[0]), floats[T](ins[1]), floats[T](out), scale, shift, epilogue{relu: relu})
}
