package graph

import "fmt"

// Padding is explicit zero padding of the two spatial axes, in pixels.
type Padding struct{ Top, Bottom, Left, Right int }

// PaddingMode chooses how a layer pads its input, with TensorFlow's meaning.
type PaddingMode int

const (
	// Valid pads nothing; windows must fit inside the input.
	Valid PaddingMode = iota
	// Same pads so that the output has ceil(input/stride) pixels per axis. When the total padding is odd
	// the extra pixel goes after (bottom/right), exactly as TensorFlow does; Keras weights depend on it.
	Same
)

func (m PaddingMode) String() string {
	if m == Same {
		return "same"
	}
	return "valid"
}

// ParsePaddingMode accepts "same" or "valid" (any case).
func ParsePaddingMode(s string) (PaddingMode, error) {
	switch s {
	case "same", "SAME", "Same":
		return Same, nil
	case "valid", "VALID", "Valid":
		return Valid, nil
	}
	return Valid, fmt.Errorf("unknown padding %q (want same or valid)", s)
}

// axisPadding returns the output size and the padding before and after for one spatial axis.
func axisPadding(mode PaddingMode, in, k, stride int) (out, before, after int, err error) {
	if in <= 0 || k <= 0 || stride <= 0 {
		return 0, 0, 0, fmt.Errorf("%w: input %d, window %d, stride %d", ErrShape, in, k, stride)
	}
	if mode == Same {
		out = (in + stride - 1) / stride
		total := max((out-1)*stride+k-in, 0)
		return out, total / 2, total - total/2, nil
	}
	if k > in {
		return 0, 0, 0, fmt.Errorf("%w: window %d larger than input %d with valid padding", ErrShape, k, in)
	}
	return (in-k)/stride + 1, 0, 0, nil
}

// Pad2D computes TensorFlow's padding for an h×w input, a kh×kw window and the given strides.
func Pad2D(mode PaddingMode, h, w, kh, kw, strideH, strideW int) (Padding, error) {
	_, top, bottom, err := axisPadding(mode, h, kh, strideH)
	if err != nil {
		return Padding{}, err
	}
	_, left, right, err := axisPadding(mode, w, kw, strideW)
	if err != nil {
		return Padding{}, err
	}
	return Padding{Top: top, Bottom: bottom, Left: left, Right: right}, nil
}

// windowOut is the number of window positions along an axis of size in, padded by pad in total.
func windowOut(in, pad, k, stride int) int {
	if in+pad < k {
		return 0
	}
	return (in+pad-k)/stride + 1
}
