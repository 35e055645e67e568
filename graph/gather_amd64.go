//go:build amd64 && !purego

package graph

import "golang.org/x/sys/cpu"

// haveAVX512 is read once at start-up; the vector gather needs AVX-512F.
var haveAVX512 = cpu.X86.HasAVX512F

// gather16AVX512 sets dst[q] = src[idx[q]] for q < n (a positive multiple of 16), 16 lanes at a time.
//
//go:noescape
func gather16AVX512(dst, src *float32, idx *int32, n int)

// gatherFloat32 sets dst[q] = src[idx[q]] for every q; idx must be ascending (only its ends are
// checked against src).
func gatherFloat32(dst, src []float32, idx []int32) {
	idx = idx[:len(dst)]
	if len(idx) == 0 {
		return
	}
	if idx[0] < 0 || int(idx[len(idx)-1]) >= len(src) {
		panic("graph: gather index out of range") // unreachable: colSource's offsets stay inside an image
	}
	vec := 0
	if haveAVX512 {
		if vec = len(dst) &^ 15; vec > 0 {
			gather16AVX512(&dst[0], &src[0], &idx[0], vec)
		}
	}
	for q := vec; q < len(dst); q++ {
		dst[q] = src[idx[q]]
	}
}

// copyRows16AVX512 copies rows (≥ 1) runs of width (1..16) floats, srcStride apart in src, to dst rows
// dstStride apart, with one masked load and store per run.
//
//go:noescape
func copyRows16AVX512(dst, src *float32, rows, width, srcStride, dstStride int)

// copyRowsFloat32 copies rows runs of width floats, srcStride apart in src, to dst rows dstStride apart.
func copyRowsFloat32(dst, src []float32, rows, width, srcStride, dstStride int) {
	if rows <= 0 || width <= 0 {
		return
	}
	_, _ = dst[(rows-1)*dstStride+width-1], src[(rows-1)*srcStride+width-1]
	if haveAVX512 && width <= 16 {
		copyRows16AVX512(&dst[0], &src[0], rows, width, srcStride, dstStride)
		return
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*dstStride:r*dstStride+width], src[r*srcStride:])
	}
}
