package graph

import (
	"fmt"
	"strings"

	"gorgonia.org/tensor"
)

// Param is a named model parameter: its value, and whether training updates it. Moving statistics (for
// example) are parameters that are saved and loaded but never trained.
type Param struct {
	Name      string
	Value     *tensor.Dense
	Trainable bool
}

// Size is the number of elements of the parameter.
func (p *Param) Size() int { return p.Value.Shape().TotalSize() }

// Params is an ordered set of named parameters: the unit of saving, loading, freezing and optimising.
// Graphs built from the same Params share their values, so a training graph and an evaluation graph see
// the same weights.
type Params struct {
	list   []*Param
	byName map[string]*Param
}

// NewParams returns an empty parameter set.
func NewParams() *Params { return &Params{byName: map[string]*Param{}} }

// Add appends a parameter; names must be unique.
func (ps *Params) Add(p *Param) error {
	if p.Name == "" {
		return fmt.Errorf("%w: parameter without a name", ErrParam)
	}
	if _, dup := ps.byName[p.Name]; dup {
		return fmt.Errorf("%w: duplicate parameter %q", ErrParam, p.Name)
	}
	ps.list = append(ps.list, p)
	ps.byName[p.Name] = p
	return nil
}

// Get returns the parameter with the given name.
func (ps *Params) Get(name string) (*Param, bool) {
	p, ok := ps.byName[name]
	return p, ok
}

// All returns every parameter in creation order.
func (ps *Params) All() []*Param { return ps.list }

// Trainable returns the parameters training updates, in creation order.
func (ps *Params) Trainable() []*Param {
	var out []*Param
	for _, p := range ps.list {
		if p.Trainable {
			out = append(out, p)
		}
	}
	return out
}

// Count returns the number of trainable and non-trainable scalars.
func (ps *Params) Count() (trainable, frozen int) {
	for _, p := range ps.list {
		if p.Trainable {
			trainable += p.Size()
		} else {
			frozen += p.Size()
		}
	}
	return trainable, frozen
}

// SetTrainable marks every parameter whose name starts with prefix (all of them for "") as trainable or
// frozen, and returns how many it changed.
func (ps *Params) SetTrainable(prefix string, trainable bool) int {
	n := 0
	for _, p := range ps.list {
		if strings.HasPrefix(p.Name, prefix) && p.Trainable != trainable {
			p.Trainable = trainable
			n++
		}
	}
	return n
}
