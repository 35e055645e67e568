package demo

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Filter is a square convolution kernel for one channel, applied as a cross-correlation (as TensorFlow
// and fovea's Conv2D do: the kernel is not flipped).
type Filter struct {
	Name    string
	About   string
	Size    int       // the kernel is Size×Size
	Weights []float64 // row-major, Size·Size values
}

// Filters returns the demo's named filters, in the order -h lists them.
func Filters() []Filter {
	line := func(vertical bool) []float64 {
		w := make([]float64, 49)
		for i := range 7 {
			if vertical {
				w[i*7+3] = 1
			} else {
				w[3*7+i] = 1
			}
		}
		return w
	}
	return []Filter{
		{Name: "sharpen", About: "3×3 sharpen [0 -1 0; -1 5 -1; 0 -1 0]", Size: 3,
			Weights: []float64{0, -1, 0, -1, 5, -1, 0, -1, 0}},
		{Name: "edge", About: "3×3 Laplacian edge detector [-1 -1 -1; -1 8 -1; -1 -1 -1]", Size: 3,
			Weights: []float64{-1, -1, -1, -1, 8, -1, -1, -1, -1}},
		{Name: "sobel-x", About: "3×3 Sobel, horizontal gradient (vertical edges) [-1 0 1; -2 0 2; -1 0 1]", Size: 3,
			Weights: []float64{-1, 0, 1, -2, 0, 2, -1, 0, 1}},
		{Name: "sobel-y", About: "3×3 Sobel, vertical gradient (horizontal edges) [-1 -2 -1; 0 0 0; 1 2 1]", Size: 3,
			Weights: []float64{-1, -2, -1, 0, 0, 0, 1, 2, 1}},
		{Name: "vertical-line", About: "Géron's 7×7 vertical-line filter: zeros with a middle column of ones", Size: 7,
			Weights: line(true)},
		{Name: "horizontal-line", About: "Géron's 7×7 horizontal-line filter: zeros with a middle row of ones", Size: 7,
			Weights: line(false)},
	}
}

// FilterNames lists the names Filters offers, for help texts.
func FilterNames() []string {
	var names []string
	for _, f := range Filters() {
		names = append(names, f.Name)
	}
	return names
}

// LookupFilter returns the named filter.
func LookupFilter(name string) (Filter, error) {
	for _, f := range Filters() {
		if f.Name == name {
			return f, nil
		}
	}
	return Filter{}, fmt.Errorf("unknown filter %q (want one of %s, or a kernel of your own with -kernel)", name, strings.Join(FilterNames(), ", "))
}

// ParseKernel reads a square kernel from comma-separated numbers in row-major order, such as
// "0,-1,0,-1,5,-1,0,-1,0" (3×3). Any square count (1, 4, 9, 25, 49, ...) is accepted.
func ParseKernel(s string) (Filter, error) {
	fields := strings.Split(s, ",")
	w := make([]float64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return Filter{}, fmt.Errorf("kernel %q: value %d (%q) is not a finite number", s, i+1, strings.TrimSpace(f))
		}
		w[i] = v
	}
	size := int(math.Round(math.Sqrt(float64(len(w)))))
	if size*size != len(w) {
		return Filter{}, fmt.Errorf("kernel %q: %d values do not make a square kernel (give 9 for 3×3)", s, len(w))
	}
	rows := make([]string, size)
	for r := range size {
		parts := make([]string, size)
		for c := range size {
			parts[c] = strconv.FormatFloat(w[r*size+c], 'g', -1, 64)
		}
		rows[r] = strings.Join(parts, " ")
	}
	return Filter{Name: "custom", About: fmt.Sprintf("%d×%d kernel [%s]", size, size, strings.Join(rows, "; ")),
		Size: size, Weights: w}, nil
}

// ChooseFilter returns the custom kernel when kernel is non-empty, else the named filter.
func ChooseFilter(name, kernel string) (Filter, error) {
	if kernel != "" {
		return ParseKernel(kernel)
	}
	return LookupFilter(name)
}
