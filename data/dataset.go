package data

import "fmt"

// Dataset is a set of labelled images kept as raw bytes.
//
// Pixels holds N images of H×W×C bytes each (row-major, channels last), so
// image i is Pixels[i*H*W*C : (i+1)*H*W*C]. Labels[i] is in [0, Classes).
// ClassNames, when non-nil, has Classes entries.
type Dataset struct {
	Pixels     []uint8
	Labels     []int32
	N          int
	C, H, W    int
	Classes    int
	ClassNames []string
}

// SampleSize is the number of bytes (and of float32 values in a batch) per image: C·H·W.
func (d *Dataset) SampleSize() int { return d.C * d.H * d.W }

// Image returns the raw bytes of image i (H×W×C), sharing storage.
func (d *Dataset) Image(i int) []uint8 {
	s := d.SampleSize()
	return d.Pixels[i*s : (i+1)*s : (i+1)*s]
}

// Validate checks that the fields are consistent with each other.
func (d *Dataset) Validate() error {
	if d == nil {
		return fmt.Errorf("data: nil dataset: %w", ErrArgument)
	}
	if d.N < 0 || d.C <= 0 || d.H <= 0 || d.W <= 0 || d.Classes <= 0 {
		return fmt.Errorf("data: dataset shape N=%d C=%d H=%d W=%d classes=%d: %w", d.N, d.C, d.H, d.W, d.Classes, ErrArgument)
	}
	if len(d.Pixels) != d.N*d.SampleSize() {
		return fmt.Errorf("data: dataset has %d pixel bytes, expected N·C·H·W = %d: %w", len(d.Pixels), d.N*d.SampleSize(), ErrArgument)
	}
	if len(d.Labels) != d.N {
		return fmt.Errorf("data: dataset has %d labels for %d images: %w", len(d.Labels), d.N, ErrArgument)
	}
	if d.ClassNames != nil && len(d.ClassNames) != d.Classes {
		return fmt.Errorf("data: dataset has %d class names for %d classes: %w", len(d.ClassNames), d.Classes, ErrArgument)
	}
	for i, l := range d.Labels {
		if l < 0 || int(l) >= d.Classes {
			return fmt.Errorf("data: label %d of sample %d is outside [0, %d): %w", l, i, d.Classes, ErrArgument)
		}
	}
	return nil
}

// Slice returns images [from, to) as a Dataset sharing d's storage (appending
// to the result never overwrites d). Like a slice expression it panics when
// 0 <= from <= to <= N does not hold: that is a programming error.
func (d *Dataset) Slice(from, to int) *Dataset {
	if from < 0 || from > to || to > d.N {
		panic(fmt.Sprintf("data: Slice(%d, %d) out of range for %d images", from, to, d.N))
	}
	s := d.SampleSize()
	return &Dataset{
		Pixels:     d.Pixels[from*s : to*s : to*s],
		Labels:     d.Labels[from:to:to],
		N:          to - from,
		C:          d.C,
		H:          d.H,
		W:          d.W,
		Classes:    d.Classes,
		ClassNames: d.ClassNames,
	}
}

// Subset returns the first n images, sharing storage; n <= 0 or n > N means all.
func (d *Dataset) Subset(n int) *Dataset {
	if n <= 0 || n > d.N {
		n = d.N
	}
	return d.Slice(0, n)
}

// SplitLast splits off the last n images, e.g. the 5,000-image validation set
// Géron's book takes from the end of the Fashion-MNIST training set. Both parts
// share d's storage. n must be in [0, N].
func SplitLast(d *Dataset, n int) (rest, last *Dataset, err error) {
	if d == nil {
		return nil, nil, fmt.Errorf("data: SplitLast of nil dataset: %w", ErrArgument)
	}
	if n < 0 || n > d.N {
		return nil, nil, fmt.Errorf("data: cannot split the last %d of %d images: %w", n, d.N, ErrArgument)
	}
	return d.Slice(0, d.N-n), d.Slice(d.N-n, d.N), nil
}

// MirroredHorizontally returns a copy of d with every image mirrored left–right (labels and class names
// shared), the second view of horizontal-flip test-time augmentation.
func (d *Dataset) MirroredHorizontally() *Dataset {
	m := *d
	m.Pixels = make([]uint8, len(d.Pixels))
	row := d.W * d.C
	for r := 0; r < d.N*d.H; r++ {
		src, dst := d.Pixels[r*row:(r+1)*row], m.Pixels[r*row:(r+1)*row]
		for x := 0; x < d.W; x++ {
			copy(dst[x*d.C:(x+1)*d.C], src[(d.W-1-x)*d.C:(d.W-x)*d.C])
		}
	}
	return &m
}
