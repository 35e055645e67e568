package training

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"fovea/graph"
)

// keras computes Keras 3's Adam and Nadam updates for one scalar weight in float64, written out from
// the Keras source formulas independently of optim.go.
func keras(nesterov bool, w0 float64, grads []float64, lr float64) float64 {
	const b1, b2, eps = 0.9, 0.999, 1e-7
	w, m, v, uProduct := w0, 0.0, 0.0, 1.0
	for i, g := range grads {
		t := float64(i + 1)
		m += (g - m) * (1 - b1)
		v += (g*g - v) * (1 - b2)
		if !nesterov {
			alpha := lr * math.Sqrt(1-math.Pow(b2, t)) / (1 - math.Pow(b1, t))
			w -= alpha * m / (math.Sqrt(v) + eps)
			continue
		}
		ut := b1 * (1 - 0.5*math.Pow(0.96, t))
		ut1 := b1 * (1 - 0.5*math.Pow(0.96, t+1))
		uProduct *= ut
		mHat := ut1*m/(1-uProduct*ut1) + (1-ut)*g/(1-uProduct)
		vHat := v / (1 - math.Pow(b2, t))
		w -= lr * mHat / (math.Sqrt(vHat) + eps)
	}
	return w
}

func TestOptimizersMatchKeras(t *testing.T) {
	grads := []float64{0.5, -0.2, 0.1, 0.3, -0.05, 0.7, -0.4, 0.25}
	for _, tc := range []struct {
		name     string
		nesterov bool
	}{{"adam", false}, {"nadam", true}} {
		t.Run(tc.name, func(t *testing.T) {
			opt, err := NewOptimizer(OptimizerConfig{Name: tc.name})
			if err != nil {
				t.Fatal(err)
			}
			p := &graph.Param{Name: "w", Value: tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1}))}
			g := tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{0}))
			for _, gv := range grads {
				g.Float32s()[0] = float32(gv)
				if err := opt.Step([]*graph.Param{p}, []*tensor.Dense{g}, 0.01); err != nil {
					t.Fatal(err)
				}
			}
			want := keras(tc.nesterov, 1, grads, 0.01)
			if got := float64(p.Value.Float32s()[0]); math.Abs(got-want) > 1e-6 {
				t.Fatalf("after %d steps w = %.8f, Keras formula gives %.8f", len(grads), got, want)
			}
		})
	}
}

func TestSGDMomentum(t *testing.T) {
	// Keras SGD(momentum=0.9, nesterov=True) on a constant gradient of 1 with lr 0.1:
	// v1 = -0.1, w1 = 0.9·(-0.1) - 0.1 = -0.19; v2 = -0.19, w2 = w1 + 0.9·(-0.19) - 0.1 = -0.461.
	opt, err := NewOptimizer(OptimizerConfig{Name: "sgd", Momentum: 0.9, Nesterov: true})
	if err != nil {
		t.Fatal(err)
	}
	p := &graph.Param{Name: "w", Value: tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{0}))}
	g := tensor.New(tensor.WithShape(1), tensor.WithBacking([]float32{1}))
	for i := 0; i < 2; i++ {
		if err := opt.Step([]*graph.Param{p}, []*tensor.Dense{g}, 0.1); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Value.Float32s()[0]; math.Abs(float64(got)+0.461) > 1e-6 {
		t.Fatalf("w = %v, want -0.461", got)
	}
}

// TestAdaptiveUpdateVectorMatchesGo compares the vector update (AVX-512 where available) with the
// portable one on random data of a length that is not a multiple of the vector width.
func TestAdaptiveUpdateVectorMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	n := 1000 + 7
	mk := func(scale float64) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64() * scale)
		}
		return s
	}
	for _, k := range []adaptiveConsts{
		{0.1, 0.001, 1, 0, 1, 0.01, 1e-7},         // Adam
		{0.1, 0.001, 3.1, 0.4, 1.002, 1e-3, 1e-7}, // Nadam
	} {
		w, g, m, v := mk(1), mk(0.1), mk(0.01), mk(0.001)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i])))
		}
		w2, m2, v2 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		adaptiveUpdate(w, g, m, v, &k)
		adaptiveUpdateGo(w2, g, m2, v2, &k)
		for i := range w {
			for _, pair := range [][2]float32{{w[i], w2[i]}, {m[i], m2[i]}, {v[i], v2[i]}} {
				if d := math.Abs(float64(pair[0] - pair[1])); d > 1e-6*(1+math.Abs(float64(pair[1]))) {
					t.Fatalf("element %d: vector %v, Go %v", i, pair[0], pair[1])
				}
			}
		}
	}
}

// TestWeightDecay checks decoupled weight decay: with a zero gradient, SGD leaves a kernel's values to
// the decay alone (w·(1 − lr·rate) per step) and leaves a bias untouched.
func TestWeightDecay(t *testing.T) {
	opt, err := NewOptimizer(OptimizerConfig{Name: "sgd", WeightDecay: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	kernel := &graph.Param{Name: "k", Value: tensor.New(tensor.WithShape(1, 2), tensor.WithBacking([]float32{1, -2}))}
	bias := &graph.Param{Name: "b", Value: tensor.New(tensor.WithShape(2), tensor.WithBacking([]float32{1, -2}))}
	zero := func() *tensor.Dense { return tensor.New(tensor.Of(tensor.Float32), tensor.WithShape(2)) }
	for i := 0; i < 2; i++ {
		if err := opt.Step([]*graph.Param{kernel, bias}, []*tensor.Dense{zero(), zero()}, 0.5); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range []float64{1 * 0.95 * 0.95, -2 * 0.95 * 0.95} {
		if got := float64(kernel.Value.Float32s()[i]); math.Abs(got-want) > 1e-6 {
			t.Fatalf("kernel[%d] = %v, want %v", i, got, want)
		}
	}
	if b := bias.Value.Float32s(); b[0] != 1 || b[1] != -2 {
		t.Fatalf("bias = %v, want it untouched", b)
	}
	if _, err := NewOptimizer(OptimizerConfig{Name: "adam", WeightDecay: -1}); err == nil {
		t.Fatal("a negative weight decay was accepted")
	}
}

// TestNewOptimizerRefusesMomentumWithoutSGD: momentum or Nesterov given to an optimizer that has none is
// an error, not silently ignored.
func TestNewOptimizerRefusesMomentumWithoutSGD(t *testing.T) {
	for _, cfg := range []OptimizerConfig{
		{Name: "nadam", Momentum: 0.9}, {Name: "adam", Nesterov: true}, {Momentum: 0.5},
	} {
		if _, err := NewOptimizer(cfg); err == nil || !strings.Contains(err.Error(), "sgd") {
			t.Errorf("%+v: error %v, want one naming sgd", cfg, err)
		}
	}
	if _, err := NewOptimizer(OptimizerConfig{Name: "sgd", Momentum: 0.9, Nesterov: true}); err != nil {
		t.Errorf("sgd with Nesterov momentum: %v", err)
	}
}
