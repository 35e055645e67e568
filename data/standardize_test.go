package data

import (
	"errors"
	"math"
	"testing"
)

func TestFitStandardizer(t *testing.T) {
	// A grayscale case and a two-channel case (where the dataset's HWC order and
	// the standardizer's CHW order differ), against hand-computed population statistics.
	cases := []struct {
		name      string
		d         *Dataset
		mean, std []float64 // CHW order, values in [0,1] units
	}{
		{
			name: "grayscale 1×2",
			d:    &Dataset{N: 3, C: 1, H: 1, W: 2, Classes: 1, Pixels: []uint8{0, 255, 255, 255, 51, 255}, Labels: make([]int32, 3)},
			mean: []float64{(0 + 1 + 0.2) / 3, 1},
			std:  []float64{math.Sqrt(((0-0.4)*(0-0.4) + (1-0.4)*(1-0.4) + (0.2-0.4)*(0.2-0.4)) / 3), 0},
		},
		{
			name: "two channels 1×2",
			// HWC: pixel0 (c0, c1), pixel1 (c0, c1)
			d:    &Dataset{N: 2, C: 2, H: 1, W: 2, Classes: 1, Pixels: []uint8{0, 10, 20, 30, 0, 30, 60, 90}, Labels: make([]int32, 2)},
			mean: []float64{0, 40.0 / 255, 20.0 / 255, 60.0 / 255}, // CHW: c0p0, c0p1, c1p0, c1p1
			std:  []float64{0, 20.0 / 255, 10.0 / 255, 30.0 / 255},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := FitStandardizer(tc.d)
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			for i := range tc.mean {
				if math.Abs(float64(s.Mean[i])-tc.mean[i]) > 1e-6 {
					t.Errorf("mean[%d] = %v, want %v", i, s.Mean[i], tc.mean[i])
				}
				if math.Abs(float64(s.Std[i])-(tc.std[i]+StdEpsilon)) > 1e-6 {
					t.Errorf("std[%d] = %v, want %v", i, s.Std[i], tc.std[i]+StdEpsilon)
				}
			}
		})
	}
}

func TestStandardizerConstantPixelIsZero(t *testing.T) {
	d := &Dataset{N: 4, C: 1, H: 1, W: 2, Classes: 1, Pixels: []uint8{77, 1, 77, 2, 77, 3, 77, 4}, Labels: make([]int32, 4)}
	s := FitStandardizer(d)
	b, err := NewBatcher(d, BatchOptions{BatchSize: 4, Norm: s})
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]float32, 8), make([]int32, 4)
	if n, ok := b.Next(x, y); !ok || n != 4 {
		t.Fatal("no batch")
	}
	for i := 0; i < 8; i += 2 {
		if x[i] != 0 {
			t.Errorf("constant pixel standardised to %v, want exactly 0", x[i])
		}
	}
}

func TestNormalizeMatchesBatcher(t *testing.T) {
	d := indexDataset(6, 3, 4, 5)
	s := FitStandardizer(d)
	b, err := NewBatcher(d, BatchOptions{BatchSize: 6, Norm: s})
	if err != nil {
		t.Fatal(err)
	}
	size := d.SampleSize()
	x, y := make([]float32, 6*size), make([]int32, 6)
	b.Next(x, y)
	one := make([]float32, size)
	for i := range 6 {
		if err := s.Normalize(one, d.Image(i)); err != nil {
			t.Fatal(err)
		}
		for j := range size {
			if math.Abs(float64(one[j]-x[i*size+j])) > 1e-4 {
				t.Fatalf("image %d value %d: Normalize %v, batch %v", i, j, one[j], x[i*size+j])
			}
		}
	}
	if err := s.Normalize(one[:3], d.Image(0)); !errors.Is(err, ErrArgument) {
		t.Errorf("short dst: %v", err)
	}
}

func TestStandardizerValidate(t *testing.T) {
	good := func() *Standardizer {
		return &Standardizer{C: 1, H: 1, W: 2, Mean: []float32{0.1, 0.2}, Std: []float32{1, 2}}
	}
	cases := []struct {
		name string
		edit func(s *Standardizer)
	}{
		{"zero std", func(s *Standardizer) { s.Std[1] = 0 }},
		{"NaN std", func(s *Standardizer) { s.Std[1] = float32(math.NaN()) }},
		{"inf mean", func(s *Standardizer) { s.Mean[0] = float32(math.Inf(1)) }},
		{"short mean", func(s *Standardizer) { s.Mean = s.Mean[:1] }},
		{"bad shape", func(s *Standardizer) { s.W = 3 }},
	}
	if err := good().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		s := good()
		tc.edit(s)
		if err := s.Validate(); !errors.Is(err, ErrArgument) {
			t.Errorf("%s: got %v", tc.name, err)
		}
	}
}
