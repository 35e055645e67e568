package graph

import (
	"math"
	"math/rand/v2"
)

// Initializer fills a new parameter, given the layer's fan-in and fan-out as Keras computes them
// (for a kernel of size KH×KW: fan-in = in·KH·KW, fan-out = out·KH·KW).
type Initializer interface {
	Fill(rng *rand.Rand, fanIn, fanOut int, dst []float64)
	String() string
}

// GlorotUniform draws from U(-l, l) with l = √(6 / (fanIn + fanOut)): Keras' default kernel initialiser.
type GlorotUniform struct{}

func (GlorotUniform) String() string { return "glorot_uniform" }
func (GlorotUniform) Fill(rng *rand.Rand, fanIn, fanOut int, dst []float64) {
	limit := math.Sqrt(6 / float64(fanIn+fanOut))
	for i := range dst {
		dst[i] = (2*rng.Float64() - 1) * limit
	}
}

// HeNormal draws from a normal distribution truncated at two standard deviations, scaled as Keras'
// he_normal so that the result has standard deviation √(2 / fanIn).
type HeNormal struct{}

func (HeNormal) String() string { return "he_normal" }
func (HeNormal) Fill(rng *rand.Rand, fanIn, fanOut int, dst []float64) {
	// 0.8796… is the standard deviation of a unit normal truncated to [-2, 2].
	std := math.Sqrt(2/float64(fanIn)) / 0.87962566103423978
	for i := range dst {
		dst[i] = truncatedNormal(rng) * std
	}
}

// GlorotNormal draws from a truncated normal with standard deviation √(2 / (fanIn + fanOut)).
type GlorotNormal struct{}

func (GlorotNormal) String() string { return "glorot_normal" }
func (GlorotNormal) Fill(rng *rand.Rand, fanIn, fanOut int, dst []float64) {
	std := math.Sqrt(2/float64(fanIn+fanOut)) / 0.87962566103423978
	for i := range dst {
		dst[i] = truncatedNormal(rng) * std
	}
}

// Constant fills every element with the same value (Zeros is Constant(0)).
type Constant float64

func (c Constant) String() string { return "constant" }
func (c Constant) Fill(_ *rand.Rand, _, _ int, dst []float64) {
	for i := range dst {
		dst[i] = float64(c)
	}
}

// Zeros is the bias initialiser.
var Zeros = Constant(0)

// truncatedNormal draws a unit normal value, redrawing outside [-2, 2].
func truncatedNormal(rng *rand.Rand) float64 {
	for {
		if v := rng.NormFloat64(); v >= -2 && v <= 2 {
			return v
		}
	}
}

// ParseInitializer returns the initialiser with the given Keras name.
func ParseInitializer(name string) (Initializer, bool) {
	switch name {
	case "glorot_uniform":
		return GlorotUniform{}, true
	case "glorot_normal":
		return GlorotNormal{}, true
	case "he_normal":
		return HeNormal{}, true
	case "zeros":
		return Zeros, true
	}
	return nil, false
}
