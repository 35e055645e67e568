package training

import (
	"fmt"
	"math"
	"strconv"

	"gorgonia.org/tensor"

	"fovea/graph"
)

// OptimizerConfig chooses and configures an optimiser. Zero values take Keras' defaults.
type OptimizerConfig struct {
	// Name is "adam", "nadam" or "sgd".
	Name string
	// Beta1, Beta2 and Epsilon configure Adam and Nadam (defaults 0.9, 0.999, 1e-7).
	Beta1, Beta2, Epsilon float64
	// Momentum and Nesterov configure SGD.
	Momentum float64
	Nesterov bool
	// WeightDecay, when positive, shrinks every kernel (parameters of rank ≥ 2; biases and BatchNorm's
	// scale and offset are left alone) by lr·WeightDecay of itself after each step: decoupled weight
	// decay (Loshchilov and Hutter's AdamW), on the CPU and on a device.
	WeightDecay float64
}

// Optimizer updates parameters in place from their gradients.
type Optimizer interface {
	// Step applies one update with learning rate lr; grads[i] is the gradient of params[i].
	Step(params []*graph.Param, grads []*tensor.Dense, lr float64) error
	// Iterations is the number of steps taken.
	Iterations() int64
	// State returns the optimiser's slots and scalars, for checkpoints.
	State() ([]NamedTensor, map[string]string)
	// Restore loads what State returned; slots are matched by parameter name.
	Restore(tensors map[string]NamedTensor, meta map[string]string) error
	String() string
}

// NewOptimizer returns the optimiser cfg names.
func NewOptimizer(cfg OptimizerConfig) (Optimizer, error) {
	opt, err := newBaseOptimizer(cfg)
	if err != nil || cfg.WeightDecay == 0 {
		return opt, err
	}
	if !(cfg.WeightDecay > 0 && cfg.WeightDecay < 1) {
		return nil, fmt.Errorf("weight decay %g must be in [0, 1)", cfg.WeightDecay)
	}
	return &decoupledDecay{Optimizer: opt, rate: cfg.WeightDecay}, nil
}

func newBaseOptimizer(cfg OptimizerConfig) (Optimizer, error) {
	b1, b2, eps := orDefault(cfg.Beta1, 0.9), orDefault(cfg.Beta2, 0.999), orDefault(cfg.Epsilon, 1e-7)
	if cfg.Name != "sgd" && (cfg.Momentum != 0 || cfg.Nesterov) {
		return nil, fmt.Errorf("momentum and Nesterov configure the sgd optimizer, not %s", or(cfg.Name, "adam"))
	}
	switch cfg.Name {
	case "adam", "":
		return &adaptive{nesterov: false, b1: b1, b2: b2, eps: eps, slots: map[string][2][]float32{}, uProduct: 1}, nil
	case "nadam":
		return &adaptive{nesterov: true, b1: b1, b2: b2, eps: eps, slots: map[string][2][]float32{}, uProduct: 1}, nil
	case "sgd":
		if cfg.Momentum < 0 || cfg.Momentum >= 1 {
			return nil, fmt.Errorf("sgd momentum %g must be in [0, 1)", cfg.Momentum)
		}
		return &sgd{momentum: cfg.Momentum, nesterov: cfg.Nesterov, velocity: map[string][]float32{}}, nil
	}
	return nil, fmt.Errorf("unknown optimizer %q (want adam, nadam or sgd)", cfg.Name)
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func orDefault(v, d float64) float64 {
	if v == 0 {
		return d
	}
	return v
}

// checkStep validates the arguments of Step.
func checkStep(params []*graph.Param, grads []*tensor.Dense) error {
	if len(params) != len(grads) {
		return fmt.Errorf("optimizer: %d parameters but %d gradients", len(params), len(grads))
	}
	for i, p := range params {
		if p.Value.Dtype() != tensor.Float32 || grads[i].Dtype() != tensor.Float32 {
			return fmt.Errorf("optimizer: %s: training updates float32 parameters only", p.Name)
		}
		if p.Value.Shape().TotalSize() != grads[i].Shape().TotalSize() {
			return fmt.Errorf("optimizer: %s has %v but its gradient %v", p.Name, p.Value.Shape(), grads[i].Shape())
		}
	}
	return nil
}

// adaptive is Adam, or Nadam when nesterov is set, exactly as Keras 3 updates them.
type adaptive struct {
	nesterov    bool
	b1, b2, eps float64
	t           int64
	uProduct    float64 // Nadam's running product of momentum-schedule terms
	slots       map[string][2][]float32
	threads
	job adaptiveJob
}

// threads lets an optimiser split large updates over the trainer's execution threads.
type threads struct{ exec *graph.Exec }

func (t *threads) setExec(e *graph.Exec) { t.exec = e }

// split runs job over [0, n), in parallel when n is large enough to be worth it.
func (t *threads) split(n int, job graph.Task) {
	if t.exec == nil || n < 1<<16 {
		job.Run(0, n)
		return
	}
	t.exec.Split(n, job)
}

// adaptiveJob updates a range of one parameter.
type adaptiveJob struct {
	w, g, m, v []float32
	k          adaptiveConsts
}

func (j *adaptiveJob) Run(lo, hi int) {
	adaptiveUpdate(j.w[lo:hi], j.g[lo:hi], j.m[lo:hi], j.v[lo:hi], &j.k)
}

// adaptiveConsts are the per-step constants of an Adam or Nadam update:
// m += (g-m)·oneMinusB1; v += (g²-v)·oneMinusB2; w -= lr·(cm·m + cg·g) / (√(cv·v) + eps).
type adaptiveConsts struct {
	oneMinusB1, oneMinusB2, cm, cg, cv, lr, eps float32
}

// adaptiveUpdateGo is the portable form of adaptiveUpdate.
func adaptiveUpdateGo(w, g, m, v []float32, k *adaptiveConsts) {
	w, m, v = w[:len(g)], m[:len(g)], v[:len(g)]
	for j, gj := range g {
		mj := m[j] + (gj-m[j])*k.oneMinusB1
		vj := v[j] + (gj*gj-v[j])*k.oneMinusB2
		m[j], v[j] = mj, vj
		w[j] -= k.lr * (k.cm*mj + k.cg*gj) / (sqrt32(vj*k.cv) + k.eps)
	}
}

func (o *adaptive) String() string {
	name := "adam"
	if o.nesterov {
		name = "nadam"
	}
	return fmt.Sprintf("%s(beta1=%g, beta2=%g, epsilon=%g)", name, o.b1, o.b2, o.eps)
}

func (o *adaptive) Iterations() int64 { return o.t }

func (o *adaptive) Step(params []*graph.Param, grads []*tensor.Dense, lr float64) error {
	if err := checkStep(params, grads); err != nil {
		return err
	}
	k := o.advance(lr)
	for i, p := range params {
		w := p.Value.Float32s()
		m, v := o.slotsFor(p)
		o.job = adaptiveJob{w: w, g: grads[i].Float32s(), m: m, v: v, k: k}
		o.split(len(w), &o.job)
	}
	return nil
}

// advance counts a step and returns its constants. Adam is the same update as Nadam with m̂ = m and
// v̂ = v, scaled by alpha:
// Adam: w -= lr·√(1-β2ᵗ)/(1-β1ᵗ) · m / (√v + ε).
// Nadam (Keras): with uₜ = β1(1 - ½·0.96ᵗ), m̂ = uₜ₊₁·m/(1-Πuₜ₊₁) + (1-uₜ)·g/(1-Πuₜ),
// v̂ = v/(1-β2ᵗ), w -= lr·m̂/(√v̂ + ε).
func (o *adaptive) advance(lr float64) adaptiveConsts {
	o.t++
	t := float64(o.t)
	b1, b2 := o.b1, o.b2
	k := adaptiveConsts{oneMinusB1: 1 - float32(b1), oneMinusB2: 1 - float32(b2), eps: float32(o.eps)}
	if o.nesterov {
		ut := b1 * (1 - 0.5*math.Pow(0.96, t))
		ut1 := b1 * (1 - 0.5*math.Pow(0.96, t+1))
		prodT := o.uProduct * ut
		prodT1 := prodT * ut1
		o.uProduct = prodT
		k.cm, k.cg, k.cv, k.lr = float32(ut1/(1-prodT1)), float32((1-ut)/(1-prodT)), float32(1/(1-math.Pow(b2, t))), float32(lr)
	} else {
		k.cm, k.cg, k.cv, k.lr = 1, 0, 1, float32(lr*math.Sqrt(1-math.Pow(b2, t))/(1-math.Pow(b1, t)))
	}
	return k
}

// slotsFor returns a parameter's first and second moment slots, zeroed on first use.
func (o *adaptive) slotsFor(p *graph.Param) (m, v []float32) {
	s, ok := o.slots[p.Name]
	if !ok {
		n := p.Value.Shape().TotalSize()
		s = [2][]float32{make([]float32, n), make([]float32, n)}
		o.slots[p.Name] = s
	}
	return s[0], s[1]
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

func (o *adaptive) State() ([]NamedTensor, map[string]string) {
	var ts []NamedTensor
	for _, name := range sortedKeys(o.slots) {
		s := o.slots[name]
		ts = append(ts,
			NamedTensor{Name: "optimizer/" + name + "/m", DType: "F32", Shape: []int{len(s[0])}, Data: s[0]},
			NamedTensor{Name: "optimizer/" + name + "/v", DType: "F32", Shape: []int{len(s[1])}, Data: s[1]})
	}
	meta := map[string]string{
		"optimizer":            o.String(),
		"optimizer.iterations": strconv.FormatInt(o.t, 10),
		"optimizer.u_product":  strconv.FormatFloat(o.uProduct, 'g', -1, 64),
	}
	return ts, meta
}

func (o *adaptive) Restore(tensors map[string]NamedTensor, meta map[string]string) error {
	t, err := strconv.ParseInt(meta["optimizer.iterations"], 10, 64)
	if err != nil {
		return fmt.Errorf("optimizer iterations: %w", err)
	}
	u, err := strconv.ParseFloat(meta["optimizer.u_product"], 64)
	if err != nil {
		return fmt.Errorf("optimizer u_product: %w", err)
	}
	o.t, o.uProduct = t, u
	o.slots = map[string][2][]float32{}
	for name, nt := range tensors {
		param, slot, ok := splitSlot(name)
		if !ok {
			continue
		}
		data, ok := nt.Data.([]float32)
		if !ok {
			return fmt.Errorf("optimizer slot %s is %s, want F32", name, nt.DType)
		}
		s := o.slots[param]
		switch slot {
		case "m":
			s[0] = data
		case "v":
			s[1] = data
		default:
			return fmt.Errorf("unknown optimizer slot %s", name)
		}
		o.slots[param] = s
	}
	for name, s := range o.slots {
		if s[0] == nil || s[1] == nil || len(s[0]) != len(s[1]) {
			return fmt.Errorf("optimizer slots of %s are incomplete", name)
		}
	}
	return nil
}

// sgd is Keras' SGD: v = μ·v - lr·g; w += v, or w += μ·v - lr·g with Nesterov momentum.
type sgd struct {
	momentum float64
	nesterov bool
	t        int64
	velocity map[string][]float32
	threads
	job sgdJob
}

// sgdJob updates a range of one parameter.
type sgdJob struct {
	nesterov bool
	w, g, v  []float32
	k        sgdConsts
}

// sgdConsts are the per-step constants of an SGD update: the momentum and the step's learning rate in
// float32.
type sgdConsts struct {
	mu, rate float32
}

// Run updates w[lo:hi] in float32, each product rounded (no fused multiply-add), as the device's sgd
// kernel does.
func (j *sgdJob) Run(lo, hi int) {
	w, g, mu, rate := j.w[lo:hi], j.g[lo:hi], j.k.mu, j.k.rate
	if j.v == nil {
		for i, gi := range g {
			w[i] -= float32(rate * gi)
		}
		return
	}
	v := j.v[lo:hi]
	for i, gi := range g {
		v[i] = float32(mu*v[i]) - float32(rate*gi)
		if j.nesterov {
			w[i] += float32(mu*v[i]) - float32(rate*gi)
		} else {
			w[i] += v[i]
		}
	}
}

func (o *sgd) String() string {
	return fmt.Sprintf("sgd(momentum=%g, nesterov=%t)", o.momentum, o.nesterov)
}

func (o *sgd) Iterations() int64 { return o.t }

func (o *sgd) Step(params []*graph.Param, grads []*tensor.Dense, lr float64) error {
	if err := checkStep(params, grads); err != nil {
		return err
	}
	k := o.advance(lr)
	for i, p := range params {
		o.job = sgdJob{nesterov: o.nesterov, w: p.Value.Float32s(), g: grads[i].Float32s(), v: o.velocityFor(p), k: k}
		o.split(len(o.job.w), &o.job)
	}
	return nil
}

// advance counts a step and returns its constants. Keras' legacy per-step decay is the schedule's
// (InverseTimeDecay), so lr is already the step's learning rate.
func (o *sgd) advance(lr float64) sgdConsts {
	o.t++
	return sgdConsts{mu: float32(o.momentum), rate: float32(lr)}
}

// velocityFor returns a parameter's velocity slot, zeroed on first use, or nil without momentum.
func (o *sgd) velocityFor(p *graph.Param) []float32 {
	if float32(o.momentum) == 0 {
		return nil
	}
	v, ok := o.velocity[p.Name]
	if !ok {
		v = make([]float32, p.Value.Shape().TotalSize())
		o.velocity[p.Name] = v
	}
	return v
}

func (o *sgd) State() ([]NamedTensor, map[string]string) {
	var ts []NamedTensor
	for _, name := range sortedKeys(o.velocity) {
		v := o.velocity[name]
		ts = append(ts, NamedTensor{Name: "optimizer/" + name + "/velocity", DType: "F32", Shape: []int{len(v)}, Data: v})
	}
	return ts, map[string]string{"optimizer": o.String(), "optimizer.iterations": strconv.FormatInt(o.t, 10)}
}

func (o *sgd) Restore(tensors map[string]NamedTensor, meta map[string]string) error {
	t, err := strconv.ParseInt(meta["optimizer.iterations"], 10, 64)
	if err != nil {
		return fmt.Errorf("optimizer iterations: %w", err)
	}
	o.t = t
	o.velocity = map[string][]float32{}
	for name, nt := range tensors {
		param, slot, ok := splitSlot(name)
		if !ok {
			continue
		}
		data, ok := nt.Data.([]float32)
		if slot != "velocity" || !ok {
			return fmt.Errorf("unexpected optimizer slot %s (%s)", name, nt.DType)
		}
		o.velocity[param] = data
	}
	return nil
}

// decoupledDecay adds decoupled weight decay to an optimiser: after its step, every kernel w becomes
// w·(1 − lr·rate).
type decoupledDecay struct {
	Optimizer
	rate float64
}

func (o *decoupledDecay) Step(params []*graph.Param, grads []*tensor.Dense, lr float64) error {
	if err := o.Optimizer.Step(params, grads, lr); err != nil {
		return err
	}
	keep := decayFactor(lr, o.rate)
	for _, p := range params {
		if !decays(p) {
			continue
		}
		w := p.Value.Float32s()
		for i := range w {
			w[i] *= keep
		}
	}
	return nil
}

// decayFactor is what weight decay multiplies a kernel by after a step at learning rate lr: the CPU's
// update and the device's scale kernel use the same float32 value.
func decayFactor(lr, rate float64) float32 { return float32(1 - lr*rate) }

// decays reports whether weight decay applies to p: kernels (rank ≥ 2) do; biases and BatchNorm's scale
// and offset do not.
func decays(p *graph.Param) bool { return len(p.Value.Shape()) >= 2 }

func (o *decoupledDecay) String() string {
	return fmt.Sprintf("%s with weight decay %g", o.Optimizer, o.rate)
}
