package training

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate of every optimiser step (counting from 0) out of total steps.
type Schedule interface {
	LearningRate(step, total int64) float64
	String() string
}

// Constant keeps the learning rate fixed.
type Constant struct{ LR float64 }

func (s Constant) LearningRate(_, _ int64) float64 { return s.LR }
func (s Constant) String() string                  { return fmt.Sprintf("constant(%g)", s.LR) }

// Cosine decays the learning rate from LR to 0 along half a cosine over the run, after an optional
// linear warm-up of Warmup steps (Keras' CosineDecay with warmup_target).
type Cosine struct {
	LR     float64
	Warmup int64
}

func (s Cosine) LearningRate(step, total int64) float64 {
	if step < s.Warmup {
		return s.LR * float64(step+1) / float64(s.Warmup)
	}
	p := float64(step-s.Warmup) / float64(max(1, total-s.Warmup))
	return s.LR * 0.5 * (1 + math.Cos(math.Pi*min(p, 1)))
}
func (s Cosine) String() string { return fmt.Sprintf("cosine(%g, warmup=%d)", s.LR, s.Warmup) }

// InverseTimeDecay is Keras' legacy per-step decay: lr / (1 + decay·step).
type InverseTimeDecay struct{ LR, Decay float64 }

func (s InverseTimeDecay) LearningRate(step, _ int64) float64 {
	return s.LR / (1 + s.Decay*float64(step))
}
func (s InverseTimeDecay) String() string {
	return fmt.Sprintf("inverse_time(%g, decay=%g)", s.LR, s.Decay)
}

// ParseSchedule builds a schedule from its name: "constant", "cosine" or "inverse-time".
func ParseSchedule(name string, lr, decay float64, warmup int64) (Schedule, error) {
	if !(lr > 0) {
		return nil, fmt.Errorf("learning rate %g must be positive", lr)
	}
	switch name {
	case "constant", "":
		return Constant{LR: lr}, nil
	case "cosine":
		return Cosine{LR: lr, Warmup: warmup}, nil
	case "inverse-time":
		return InverseTimeDecay{LR: lr, Decay: decay}, nil
	}
	return nil, fmt.Errorf("unknown schedule %q (want constant, cosine or inverse-time)", name)
}
