package graph

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Builder adds layers to one Gorgonia graph. It hands out parameters by hierarchical name: a parameter
// is created (and initialised) in the Params set the first time a name is asked for and reused after, so
// several graphs built from one model (training, evaluation, other batch sizes) share their weights. It
// also knows whether the graph is for training (Dropout is active, BatchNorm uses batch statistics) and
// records a Keras-style layer summary.
type Builder struct {
	*buildState
	prefix string
}

type buildState struct {
	g        *G.ExprGraph
	params   *Params
	dtype    tensor.Dtype
	training bool
	seed     uint64
	nodes    map[string]*G.Node
	names    map[string]int
	step     *G.Node
	layers   []LayerInfo
	updates  []StateUpdate
}

// StateUpdate moves a non-trainable parameter toward a value the graph computes at every training step,
// as an exponential moving average: p = Momentum·p + (1-Momentum)·v, where v is Value's elements
// [Offset, Offset+size of p). BatchNorm's moving statistics are kept this way.
type StateUpdate struct {
	Param    *Param
	Value    *G.Node
	Offset   int
	Momentum float64
}

// BuildOptions configures a Builder.
type BuildOptions struct {
	// Dtype of parameters and activations: tensor.Float32 (default) or tensor.Float64.
	Dtype tensor.Dtype
	// Training builds the training form of layers such as Dropout.
	Training bool
	// Seed makes parameter initialisation and dropout masks repeatable; each parameter draws from its
	// own stream keyed by its name, so adding a layer does not change the others' initial values.
	Seed uint64
}

// LayerInfo is one row of a model summary.
type LayerInfo struct {
	Name, Type  string
	OutputShape tensor.Shape
	Params      int
}

// NewBuilder returns a builder adding to g, with parameters from (or into) params.
func NewBuilder(g *G.ExprGraph, params *Params, opts BuildOptions) (*Builder, error) {
	if opts.Dtype == (tensor.Dtype{}) {
		opts.Dtype = tensor.Float32
	}
	if err := checkFloat(opts.Dtype); err != nil {
		return nil, err
	}
	return &Builder{buildState: &buildState{
		g: g, params: params, dtype: opts.Dtype, training: opts.Training, seed: opts.Seed,
		nodes: map[string]*G.Node{}, names: map[string]int{},
	}}, nil
}

// Graph is the graph being built.
func (b *Builder) Graph() *G.ExprGraph { return b.g }

// Params is the parameter set layers draw from.
func (b *Builder) Params() *Params { return b.params }

// Dtype is the element type of the graph's tensors.
func (b *Builder) Dtype() tensor.Dtype { return b.dtype }

// Training reports whether this graph is the training form of the model.
func (b *Builder) Training() bool { return b.training }

// Seed is the builder's base seed.
func (b *Builder) Seed() uint64 { return b.seed }

// In returns a builder whose names are nested under name ("block1" gives "block1/conv/kernel").
func (b *Builder) In(name string) *Builder {
	return &Builder{buildState: b.buildState, prefix: b.qualify(name)}
}

// Prefix is the builder's name scope ("" at the top).
func (b *Builder) Prefix() string { return b.prefix }

func (b *Builder) qualify(name string) string {
	if b.prefix == "" {
		return name
	}
	return b.prefix + "/" + name
}

// UniqueName returns name qualified by the scope, made unique the way Keras does: "conv2d", "conv2d_1", …
func (b *Builder) UniqueName(base string) string {
	full := b.qualify(base)
	n := b.names[full]
	b.names[full] = n + 1
	if n == 0 {
		return base
	}
	return fmt.Sprintf("%s_%d", base, n)
}

// Param returns the graph node of parameter name (qualified by the scope), creating the parameter with
// init on first use. Asking again for an existing name with a different shape is an error.
func (b *Builder) Param(name string, shape tensor.Shape, init Initializer, fanIn, fanOut int, trainable bool) (*G.Node, error) {
	full := b.qualify(name)
	if n, ok := b.nodes[full]; ok {
		return n, nil
	}
	p, ok := b.params.Get(full)
	if ok {
		if !p.Value.Shape().Eq(shape) {
			return nil, fmt.Errorf("%w: %s has shape %v, layer wants %v", ErrParam, full, p.Value.Shape(), shape)
		}
		if p.Value.Dtype() != b.dtype {
			return nil, fmt.Errorf("%w: %s is %v, graph is %v", ErrParam, full, p.Value.Dtype(), b.dtype)
		}
	} else {
		vals := make([]float64, shape.TotalSize())
		init.Fill(b.rngFor(full), fanIn, fanOut, vals)
		p = &Param{Name: full, Value: newDense(b.dtype, shape), Trainable: trainable}
		if b.dtype == tensor.Float32 {
			for i, v := range vals {
				p.Value.Float32s()[i] = float32(v)
			}
		} else {
			copy(p.Value.Float64s(), vals)
		}
		if err := b.params.Add(p); err != nil {
			return nil, err
		}
	}
	n := G.NewTensor(b.g, b.dtype, len(shape), G.WithShape(shape...), G.WithName(full), G.WithValue(p.Value))
	b.nodes[full] = n
	return n, nil
}

// Param returns the parameter behind a node this builder created, by its full name.
func (b *Builder) ParamByName(fullName string) (*Param, bool) { return b.params.Get(fullName) }

// ParamNode returns the node of an existing parameter in this graph, if a layer created it.
func (b *Builder) ParamNode(fullName string) (*G.Node, bool) {
	n, ok := b.nodes[fullName]
	return n, ok
}

// rngFor returns the random stream of one parameter: a function of the seed and the name only.
func (b *Builder) rngFor(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(b.seed, h.Sum64()))
}

// SeedFor derives a per-layer seed (for dropout masks) from the builder's seed and a name.
func (b *Builder) SeedFor(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(b.qualify(name)))
	return mix64(b.seed ^ h.Sum64())
}

// Step is the int64 scalar input holding the training step; stochastic layers key their randomness on
// it. The training loop writes it before each run. It is created on first use.
func (b *Builder) Step() *G.Node {
	if b.step == nil {
		b.step = G.NewScalar(b.g, tensor.Int64, G.WithName("step"), G.WithValue(tensor.New(tensor.FromScalar(int64(0)))))
	}
	return b.step
}

// StepNode returns the step input if any layer asked for it.
func (b *Builder) StepNode() (*G.Node, bool) { return b.step, b.step != nil }

// Record adds a row to the model summary.
func (b *Builder) Record(name, typ string, out *G.Node, params int) {
	b.layers = append(b.layers, LayerInfo{Name: name, Type: typ, OutputShape: out.Shape(), Params: params})
}

// AddStateUpdate registers a moving-average update that training applies after every step.
func (b *Builder) AddStateUpdate(u StateUpdate) { b.updates = append(b.updates, u) }

// StateUpdates returns the updates registered so far.
func (b *Builder) StateUpdates() []StateUpdate { return b.updates }

// Layers returns the summary rows recorded so far.
func (b *Builder) Layers() []LayerInfo { return b.layers }
