package graph

import (
	"errors"
	"fmt"
	"strings"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a Gorgonia expression graph compiled for repeated execution: the nodes that the requested
// outputs depend on, in dependency order, each fovea op bound to its kernel and to a preallocated output
// buffer. Inputs are read from the tensors bound to the input nodes when the program was compiled, so a
// caller feeds a new batch by overwriting those tensors in place. Running a program allocates nothing.
//
// Gorgonia's own tape machine runs the same graphs (every fovea op implements Do); a Program is the fast
// path, and the device-independent form that a GPU backend lowers.
type Program struct {
	exec   *Exec
	memo   bool // the program computes convolution or batch-normalisation gradients, whose intermediates memos share
	steps  []Step
	values map[*G.Node]*tensor.Dense
	order  G.Nodes
}

// Step is one node of a compiled program: an op applied to input buffers, writing one output buffer.
type Step struct {
	Node *G.Node
	Op   G.Op
	In   []*tensor.Dense
	Out  *tensor.Dense
	// Kernel runs the step: the node's own op, or a fused group ending at the node. It is nil when the
	// node holds a Gorgonia op, which runs through Do.
	Kernel Kernel
	vals   []G.Value
}

// Compile builds a program that computes outputs (and everything they depend on) with exec's threads.
func Compile(exec *Exec, outputs ...*G.Node) (*Program, error) {
	if len(outputs) == 0 {
		return nil, errors.New("compile: no outputs")
	}
	p := &Program{exec: exec, values: map[*G.Node]*tensor.Dense{}}
	state := map[*G.Node]int{} // 1 visiting, 2 done
	var visit func(n *G.Node) error
	visit = func(n *G.Node) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("compile: cycle at node %v", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, c := range childrenOf(n) {
			if err := visit(c); err != nil {
				return err
			}
		}
		state[n] = 2
		p.order = append(p.order, n)
		return nil
	}
	for _, out := range outputs {
		if out == nil {
			return nil, errors.New("compile: nil output node")
		}
		if err := visit(out); err != nil {
			return nil, err
		}
	}
	fused, absorbed := planFusion(p.order, outputs)
	plan := planBuffers(p.order, fused, absorbed, outputs)
	for _, n := range p.order {
		if absorbed[n] {
			continue
		}
		before := len(p.steps)
		if err := p.add(n, fused[n], plan); err != nil {
			return nil, err
		}
		if len(p.steps) > before {
			plan.retire(len(p.steps)-1, p.values)
		}
	}
	return p, nil
}

// childrenOf returns a node's inputs in argument order.
func childrenOf(n *G.Node) G.Nodes {
	it := n.Graph().From(n.ID())
	if it == nil {
		return nil
	}
	var out G.Nodes
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

func (p *Program) add(n *G.Node, group *fusion, plan *bufferPlan) error {
	op := n.Op()
	if op == nil || op.Arity() == 0 {
		// An input or a constant: its bound value is the buffer.
		v := n.Value()
		if v == nil && op != nil {
			var err error
			if v, err = op.Do(); err != nil {
				return fmt.Errorf("compile: constant %v: %w", n, err)
			}
		}
		if v == nil {
			return fmt.Errorf("compile: input %q has no value bound", n.Name())
		}
		d, err := asDense(v)
		if err != nil {
			return fmt.Errorf("compile: input %q: %w", n.Name(), err)
		}
		p.values[n] = d
		return nil
	}
	children := childrenOf(n)
	if group != nil {
		children = group.inputs
	}
	s := Step{Node: n, Op: op, In: make([]*tensor.Dense, len(children))}
	for i, c := range children {
		s.In[i] = p.values[c]
	}
	s.Out = plan.buffer(n)
	if group != nil {
		s.Kernel = group.kernel
	} else if f, ok := op.(Op); ok {
		s.Kernel = f
	} else if lowered, ok := lowerGorgonia(op, s.In); ok {
		s.Kernel = lowered
	} else {
		s.vals = make([]G.Value, len(children))
		for i, d := range s.In {
			s.vals[i] = d
		}
	}
	p.values[n] = s.Out
	p.steps = append(p.steps, s)
	switch op.(type) {
	case Conv2DBackpropFilter, BatchNormTrainGrad, BatchNormGammaGrad:
		p.memo = true
	}
	return nil
}

// lowerGorgonia maps the Gorgonia ops that Gorgonia's autodiff itself inserts to fovea ops: the
// elementwise addition that sums the gradients of a node with several consumers (a residual fork).
func lowerGorgonia(op G.Op, in []*tensor.Dense) (Op, bool) {
	if strings.HasPrefix(op.String(), "+ ") && len(in) == 2 && in[0].Dtype() == in[1].Dtype() && in[0].Shape().Eq(in[1].Shape()) {
		return Add{}, true
	}
	return nil, false
}

// Run executes every step once.
func (p *Program) Run() error {
	p.exec.run++
	p.exec.memoOn = p.memo
	for i := range p.steps {
		s := &p.steps[i]
		if s.Kernel != nil {
			if err := s.Kernel.Exec(p.exec, s.Out, s.In); err != nil {
				return fmt.Errorf("run %v: %w", s.Node.Name(), err)
			}
			continue
		}
		v, err := s.Op.Do(s.vals...)
		if err != nil {
			return fmt.Errorf("run %v (%v): %w", s.Node.Name(), s.Op, err)
		}
		d, err := asDense(v)
		if err != nil {
			return fmt.Errorf("run %v (%v): %w", s.Node.Name(), s.Op, err)
		}
		if err := tensor.Copy(s.Out, d); err != nil {
			return fmt.Errorf("run %v (%v): %w", s.Node.Name(), s.Op, err)
		}
	}
	return nil
}

// Value returns the buffer holding n's value: for an input, the tensor bound at compile time; for an
// op, its output after the last Run. It is nil for nodes outside the program, and for intermediate
// nodes a fused kernel computes without storing (see fuse.go); requested outputs are never fused away.
func (p *Program) Value(n *G.Node) *tensor.Dense { return p.values[n] }

// Steps returns the compiled steps in execution order (for inspection and for device backends).
func (p *Program) Steps() []Step { return p.steps }

// Exec returns the execution context the program runs with.
func (p *Program) Exec() *Exec { return p.exec }
