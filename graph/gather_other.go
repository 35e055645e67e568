//go:build !amd64 || purego

package graph

// gatherFloat32 sets dst[q] = src[idx[q]] for every q; idx must be ascending.
func gatherFloat32(dst, src []float32, idx []int32) {
	idx = idx[:len(dst)]
	for q := range dst {
		dst[q] = src[idx[q]]
	}
}

// copyRowsFloat32 copies rows runs of width floats, srcStride apart in src, to dst rows dstStride apart.
func copyRowsFloat32(dst, src []float32, rows, width, srcStride, dstStride int) {
	for r := 0; r < rows; r++ {
		copy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:])
	}
}
