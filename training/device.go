package training

import (
	"fmt"

	"fovea/cuda"
	"fovea/graph"

	"gorgonia.org/tensor"
)

// Training on a device: each compiled program is lowered to a device plan (fovea/cuda), with the
// optimizer's update and BatchNorm's moving-statistics updates appended, and runs on an executor (a
// GPU, or the CPU interpreter of plans). The parameters, moving statistics and optimizer slots stay on
// the device between steps; only the batch goes up and the loss and correct count come down. The host
// copies are brought up to date when the host needs them (evaluation on another program, checkpoints,
// Params) and uploaded when a program becomes resident.

// deviceRun is one program's plan on its executor.
type deviceRun struct {
	plan     *cuda.Plan
	exec     cuda.Executor
	training bool
	// state are the plan's inputs other than the batch (parameters, constants) and the moving
	// statistics it updates, uploaded when the run becomes resident; written are the parameters its
	// optimizer updates and the moving statistics, downloaded when the host needs them.
	state   []*tensor.Dense
	written []*tensor.Dense
	// slots are the optimizer's slots (Adam's moments, SGD's velocity) on the device, mirrored in host
	// tensors of their own and copied from and to the optimizer's slots (which Resume may replace).
	slots  []deviceSlot
	update []int // the plan's optimizer launches (adam or sgd)
	decay  []int // the plan's weight-decay launches (scale), after the updates
}

// deviceSlot holds one parameter's optimizer slots on the device, in the order hostSlots returns the
// optimizer's.
type deviceSlot struct {
	param *graph.Param
	dev   []*tensor.Dense
}

// hostSlots returns the optimizer's slots of a parameter (zeroed on first use): Adam's m and v, SGD's
// velocity (none without momentum).
func hostSlots(opt Optimizer, p *graph.Param) [][]float32 {
	base, _ := withoutDecay(opt)
	switch o := base.(type) {
	case *adaptive:
		m, v := o.slotsFor(p)
		return [][]float32{m, v}
	case *sgd:
		if v := o.velocityFor(p); v != nil {
			return [][]float32{v}
		}
	}
	return nil
}

// withoutDecay returns the optimizer under decoupled weight decay, and the decay's rate (0 without it).
func withoutDecay(opt Optimizer) (Optimizer, float64) {
	if d, ok := opt.(*decoupledDecay); ok {
		return d.Optimizer, d.rate
	}
	return opt, 0
}

// deviceUpdate is one step's scalar arguments of the optimizer's update launches: args set the launch
// parameters from index first on; decay is the weight decay's factor (scale launches), when there is one.
type deviceUpdate struct {
	first int
	args  []cuda.Arg
	decay [1]cuda.Arg
}

// advanceDevice counts one step of the optimizer and returns the scalar arguments of its device update
// launches, computed by the same code as the CPU's update; the arguments reuse buf's storage.
func advanceDevice(opt Optimizer, lr float64, buf []cuda.Arg) deviceUpdate {
	var u deviceUpdate
	base, rate := withoutDecay(opt)
	if rate != 0 {
		u.decay[0] = cuda.Arg{Float: decayFactor(lr, rate)}
	}
	switch o := base.(type) {
	case *adaptive:
		k := o.advance(lr)
		u.first, u.args = cuda.AdamScalars{OneMinusB1: k.oneMinusB1, OneMinusB2: k.oneMinusB2, CM: k.cm, CG: k.cg,
			CV: k.cv, LR: k.lr, Eps: k.eps}.Args(buf[:0])
	case *sgd:
		k := o.advance(lr)
		u.first, u.args = cuda.SGDScalars{Momentum: k.mu, LR: k.rate}.Args(buf[:0])
	}
	return u
}

// deviceState tracks which run holds the newest parameters.
type deviceState struct {
	runs     []*deviceRun
	resident *deviceRun
	dirty    bool       // the resident run has updated parameters the host has not seen
	scalars  []cuda.Arg // storage for each step's update arguments
}

func (d *deviceState) close() {
	for _, r := range d.runs {
		r.exec.Close()
	}
	d.runs, d.resident = nil, nil
}

// lowerToDevice lowers a compiled program (and, for training, the optimizer's update) to the
// configured device.
func (t *Trainer) lowerToDevice(p *program, training bool) (*deviceRun, error) {
	plan, err := cuda.Lower(p.prog)
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", t.cfg.Device, err)
	}
	plan.TF32, plan.Graphs = t.cfg.TF32, t.cfg.CUDAGraphs
	r := &deviceRun{plan: plan, training: training}
	if training {
		base, rate := withoutDecay(t.opt)
		switch base.(type) {
		case *adaptive, *sgd:
		default:
			return nil, fmt.Errorf("device %s: the %s optimizer has no device update yet (adam, nadam and sgd have)", t.cfg.Device, t.opt)
		}
		for i, param := range p.params {
			n := param.Value.Shape().TotalSize()
			s := deviceSlot{param: param}
			for range hostSlots(t.opt, param) {
				s.dev = append(s.dev, tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(n)))
			}
			var idx int
			var err error
			switch o := base.(type) {
			case *adaptive:
				idx, err = plan.AddAdam(param.Value, p.grads[i], s.dev[0], s.dev[1])
			case *sgd:
				var velocity *tensor.Dense
				if len(s.dev) > 0 {
					velocity = s.dev[0]
				}
				idx, err = plan.AddSGD(param.Value, p.grads[i], velocity, o.nesterov)
			}
			if err != nil {
				return nil, fmt.Errorf("device %s: %s: %w", t.cfg.Device, param.Name, err)
			}
			if len(s.dev) > 0 {
				r.slots = append(r.slots, s)
			}
			r.update = append(r.update, idx)
			r.written = append(r.written, param.Value)
			// decoupled weight decay shrinks the kernels after their update, as decoupledDecay does
			if rate != 0 && decays(param) {
				if idx, err = plan.AddScale(param.Value); err != nil {
					return nil, fmt.Errorf("device %s: %s: %w", t.cfg.Device, param.Name, err)
				}
				r.decay = append(r.decay, idx)
			}
		}
		// BatchNorm's moving statistics follow the optimizer's update, from the step's BatchStats.
		for _, u := range p.updates {
			if _, err := plan.AddMovingAverage(u.paramT, u.valueT, u.offset, u.momentum); err != nil {
				return nil, fmt.Errorf("device %s: %w", t.cfg.Device, err)
			}
			if !containsTensor(r.written, u.paramT) {
				r.written = append(r.written, u.paramT)
			}
			if !containsTensor(plan.Inputs, u.paramT) && !containsTensor(r.state, u.paramT) {
				r.state = append(r.state, u.paramT)
			}
		}
	}
	for _, in := range plan.Inputs {
		if !containsTensor(p.inputs, in) {
			r.state = append(r.state, in)
		}
	}
	if r.exec, err = cuda.NewExecutor(t.cfg.Device, plan); err != nil {
		return nil, fmt.Errorf("device %s: %w", t.cfg.Device, err)
	}
	t.device.runs = append(t.device.runs, r)
	return r, nil
}

func containsTensor(ts []*tensor.Dense, t *tensor.Dense) bool {
	for _, u := range ts {
		if u == t {
			return true
		}
	}
	return false
}

// run executes p once on its current inputs, on the CPU or its device; update, for a training step on
// a device, holds the scalar arguments of the optimizer's update launches (advanceDevice).
func (t *Trainer) run(p *program, update *deviceUpdate) (loss float64, correct int, err error) {
	if p.dev == nil {
		return p.run()
	}
	r := p.dev
	if err := t.makeResident(r); err != nil {
		return 0, 0, err
	}
	for _, in := range p.inputs {
		if err := r.exec.Upload(in); err != nil {
			return 0, 0, err
		}
	}
	if update != nil {
		for _, i := range r.update {
			if err := r.exec.SetArgs(i, update.first, update.args); err != nil {
				return 0, 0, err
			}
		}
		for _, i := range r.decay {
			if err := r.exec.SetArgs(i, cuda.ScaleFactorArg, update.decay[:]); err != nil {
				return 0, 0, err
			}
		}
	}
	if err := r.exec.Run(); err != nil {
		return 0, 0, err
	}
	if r.training {
		t.device.dirty = true
	}
	if err := r.exec.Download(p.loss); err != nil {
		return 0, 0, err
	}
	if err := r.exec.Download(p.correct); err != nil {
		return 0, 0, err
	}
	return float64(p.loss.Float32s()[0]), int(p.correct.Float32s()[0]), nil
}

// makeResident makes r hold the newest parameters (and, for training, optimizer slots).
func (t *Trainer) makeResident(r *deviceRun) error {
	if t.device.resident == r {
		return nil
	}
	if err := t.syncHost(); err != nil {
		return err
	}
	for _, s := range r.state {
		if err := r.exec.Upload(s); err != nil {
			return err
		}
	}
	for _, s := range r.slots {
		for j, host := range hostSlots(t.opt, s.param) {
			copy(s.dev[j].Float32s(), host)
			if err := r.exec.Upload(s.dev[j]); err != nil {
				return err
			}
		}
	}
	t.device.resident = r
	return nil
}

// syncHost copies the parameters, moving statistics and optimizer slots a device run has updated back
// to the host.
func (t *Trainer) syncHost() error {
	r := t.device.resident
	if r == nil || !t.device.dirty {
		return nil
	}
	for _, w := range r.written {
		if err := r.exec.Download(w); err != nil {
			return err
		}
	}
	for _, s := range r.slots {
		for j, host := range hostSlots(t.opt, s.param) {
			if err := r.exec.Download(s.dev[j]); err != nil {
				return err
			}
			copy(host, s.dev[j].Float32s())
		}
	}
	t.device.dirty = false
	return nil
}
