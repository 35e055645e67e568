package keras

import "fmt"

// toFovea converts one Keras weight to fovea's layout, by its kind:
//
//	kind               Keras shape              fovea shape
//	kernel (Conv2D)    (kh, kw, in, out)        (out, in, kh, kw)
//	kernel (Dense)     (in, out)                (in, out)
//	depthwise_kernel   (kh, kw, in, mult)       (in·mult, 1, kh, kw), output channel c·mult+m
//	pointwise_kernel   (1, 1, in, out)          (out, in, 1, 1)
//	bias, gamma, beta, moving_mean, moving_variance: vectors, unchanged
func toFovea(kind string, shape []int, data []float32) ([]int, []float32, error) {
	rank := len(shape)
	switch {
	case kind == "kernel" && rank == 4, kind == "pointwise_kernel" && rank == 4 && shape[0] == 1 && shape[1] == 1:
		return hwioToOIHW(shape, data)
	case kind == "kernel" && rank == 2:
		return shape, data, nil
	case kind == "depthwise_kernel" && rank == 4:
		return depthwiseToFovea(shape, data)
	case rank == 1 && (kind == "bias" || kind == "gamma" || kind == "beta" || kind == "moving_mean" || kind == "moving_variance"):
		return shape, data, nil
	}
	return nil, nil, fmt.Errorf("no fovea layout for a %s of shape %v", kind, shape)
}

// hwioToOIHW transposes a convolution kernel from (kh, kw, in, out) to (out, in, kh, kw).
func hwioToOIHW(shape []int, src []float32) ([]int, []float32, error) {
	kh, kw, in, out := shape[0], shape[1], shape[2], shape[3]
	if kh*kw*in*out != len(src) {
		return nil, nil, fmt.Errorf("shape %v does not hold %d values", shape, len(src))
	}
	dst := make([]float32, len(src))
	for y := range kh {
		for x := range kw {
			for i := range in {
				for o := range out {
					dst[((o*in+i)*kh+y)*kw+x] = src[((y*kw+x)*in+i)*out+o]
				}
			}
		}
	}
	return []int{out, in, kh, kw}, dst, nil
}

// depthwiseToFovea reorders a depthwise kernel from (kh, kw, in, mult) to (in·mult, 1, kh, kw): output
// channel c·mult+m filters input channel c, as TensorFlow orders depthwise outputs.
func depthwiseToFovea(shape []int, src []float32) ([]int, []float32, error) {
	kh, kw, in, mult := shape[0], shape[1], shape[2], shape[3]
	if kh*kw*in*mult != len(src) {
		return nil, nil, fmt.Errorf("shape %v does not hold %d values", shape, len(src))
	}
	dst := make([]float32, len(src))
	for y := range kh {
		for x := range kw {
			for c := range in {
				for m := range mult {
					dst[((c*mult+m)*kh+y)*kw+x] = src[((y*kw+x)*in+c)*mult+m]
				}
			}
		}
	}
	return []int{in * mult, 1, kh, kw}, dst, nil
}
