package data

import "fmt"

// ChannelNorm is a per-channel normalisation of 8-bit images, the preprocessing pretrained models
// expect: output channel c of a pixel is (p[Order[c]] − Mean[c]) · Scale[c], where p are the pixel's raw
// channel values (RGB for decoded photos). Order permutes channels (e.g. {2, 1, 0} for Caffe-style BGR
// models); nil keeps them.
type ChannelNorm struct {
	Mean, Scale []float32
	Order       []int
}

// Validate checks that the normalisation fits c-channel images.
func (n ChannelNorm) Validate(c int) error {
	if len(n.Mean) != c || len(n.Scale) != c {
		return fmt.Errorf("data: channel normalisation has %d means and %d scales for %d channels: %w", len(n.Mean), len(n.Scale), c, ErrArgument)
	}
	if n.Order != nil {
		if len(n.Order) != c {
			return fmt.Errorf("data: channel order %v for %d channels: %w", n.Order, c, ErrArgument)
		}
		seen := make([]bool, c)
		for _, o := range n.Order {
			if o < 0 || o >= c || seen[o] {
				return fmt.Errorf("data: channel order %v is not a permutation: %w", n.Order, ErrArgument)
			}
			seen[o] = true
		}
	}
	return nil
}

// Source is the raw channel output channel c reads.
func (n ChannelNorm) Source(c int) int {
	if n.Order == nil {
		return c
	}
	return n.Order[c]
}

// ScaleToUnit maps [0, 255] to [-1, 1]: x/127.5 − 1, the preprocessing of Keras' Xception.
func ScaleToUnit(c int) ChannelNorm {
	n := ChannelNorm{Mean: make([]float32, c), Scale: make([]float32, c)}
	for i := range c {
		n.Mean[i], n.Scale[i] = 127.5, 1/127.5
	}
	return n
}

// CaffeBGR is Caffe-style preprocessing: channels reordered to BGR and the ImageNet mean subtracted
// (B 103.939, G 116.779, R 123.68), no scaling, as Keras' SqueezeNet port expects.
func CaffeBGR() ChannelNorm {
	return ChannelNorm{Mean: []float32{103.939, 116.779, 123.68}, Scale: []float32{1, 1, 1}, Order: []int{2, 1, 0}}
}
