package graph

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Memory planning: a program gives each op node an output buffer, but a buffer whose node has been read
// by its last consumer is free for a later node of the same dtype and size. Training graphs hold every
// forward activation and every gradient, so reuse roughly halves their memory (Xception fine-tuning at
// 224×224, batch 32, did not fit in 24 GB without it). Kept for the whole run: requested outputs (the
// caller reads them), inputs, and the inputs of convolution and batch-normalisation kernels, whose
// padded-input, gathered-gradient and moment memos are keyed by buffer address (memo.go) and must not
// meet a different tensor at the same address.

// bufferPlan assigns buffers while a program is compiled.
type bufferPlan struct {
	lastUse map[*G.Node]int // step index of a node's last consumer
	pinned  map[*G.Node]bool
	dying   map[int]G.Nodes // step index → nodes whose last consumer it is
	free    map[poolKey][]*tensor.Dense
}

type poolKey struct {
	dt   tensor.Dtype
	size int
}

// planBuffers computes, for the nodes a program will run (order minus absorbed nodes), the step that
// reads each one last.
func planBuffers(order G.Nodes, fused map[*G.Node]*fusion, absorbed map[*G.Node]bool, outputs G.Nodes) *bufferPlan {
	plan := &bufferPlan{lastUse: map[*G.Node]int{}, pinned: map[*G.Node]bool{}, dying: map[int]G.Nodes{}, free: map[poolKey][]*tensor.Dense{}}
	for _, o := range outputs {
		plan.pinned[o] = true
	}
	step := 0
	for _, n := range order {
		if absorbed[n] || n.Op() == nil || n.Op().Arity() == 0 {
			continue
		}
		inputs := childrenOf(n)
		if f := fused[n]; f != nil {
			inputs = f.inputs
		}
		memoized := convMemoized(n, fused[n])
		for i, c := range inputs {
			plan.lastUse[c] = step
			if memoized[i] {
				plan.pinned[c] = true
			}
		}
		step++
	}
	for n, s := range plan.lastUse {
		if !plan.pinned[n] && n.Op() != nil && n.Op().Arity() != 0 {
			plan.dying[s] = append(plan.dying[s], n)
		}
	}
	return plan
}

// convMemoized reports which inputs of a step a kernel memoises by address: convolutions (padded inputs,
// gathered gradients) and batch normalisation in training (its input's moments).
func convMemoized(n *G.Node, f *fusion) map[int]bool {
	if f != nil {
		switch f.kernel.(type) {
		case ConvBias, ConvBN:
			return map[int]bool{0: true}
		}
		return nil
	}
	switch n.Op().(type) {
	case Conv2D, BatchNormTrain, BatchStats, BatchNormTrainGrad, BatchNormGammaGrad:
		return map[int]bool{0: true}
	case Conv2DBackpropFilter:
		return map[int]bool{0: true, 1: true}
	case Conv2DBackpropInput:
		return map[int]bool{1: true}
	}
	return nil
}

// buffer returns an output buffer for n: a freed one of the same dtype and size if there is one.
func (p *bufferPlan) buffer(n *G.Node) *tensor.Dense {
	shape := n.Shape()
	if len(shape) == 0 {
		return newDense(n.Dtype(), shape)
	}
	key := poolKey{n.Dtype(), shape.TotalSize()}
	if free := p.free[key]; len(free) > 0 {
		old := free[len(free)-1]
		p.free[key] = free[:len(free)-1]
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(old.Data()))
	}
	return newDense(n.Dtype(), shape)
}

// retire frees the buffers of the nodes whose last consumer is step s, for the steps after it.
func (p *bufferPlan) retire(s int, values map[*G.Node]*tensor.Dense) {
	for _, n := range p.dying[s] {
		d := values[n]
		if d == nil || len(d.Shape()) == 0 {
			continue
		}
		key := poolKey{d.Dtype(), d.Shape().TotalSize()}
		p.free[key] = append(p.free[key], d)
	}
}
