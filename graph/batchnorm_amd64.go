//go:build amd64 && !purego

package graph

//go:noescape
func deviationSumsAVX512(x *float32, rows, width, stride int, shift float64, out *[16]float64)

//go:noescape
func gradSumsAVX512(dy, x *float32, rows, width, stride int, mean float64, out *[16]float64)

//go:noescape
func normGradRowsAVX512(dy, x, dx *float32, rows, width, stride int, k *[4]float64)

//go:noescape
func affineRowsAVX512(x, y *float32, rows, width, stride int, scale, shift float32)

// rowsFit reports whether rows runs of width values, stride apart, fit in a slice of length n; the
// vector kernels below read and write nothing else.
func rowsFit(n, rows, width, stride int) bool {
	return rows > 0 && width > 0 && stride >= width && (rows-1)*stride+width <= n
}

// laneSums adds up the two 8-lane halves of out.
func laneSums(out *[16]float64) (a, b float64) {
	for i := 0; i < 8; i++ {
		a += out[i]
		b += out[8+i]
	}
	return a, b
}

// deviationSumsFloat32 is deviationSums with AVX-512; ok is false where the CPU lacks it.
func deviationSumsFloat32(x []float32, rows, width, stride int, shift float64) (sum, squares float64, ok bool) {
	if !haveAVX512 || !rowsFit(len(x), rows, width, stride) {
		return 0, 0, false
	}
	var out [16]float64
	deviationSumsAVX512(&x[0], rows, width, stride, shift, &out)
	sum, squares = laneSums(&out)
	return sum, squares, true
}

// gradSumsFloat32 is gradSums with AVX-512; ok is false where the CPU lacks it.
func gradSumsFloat32(dy, x []float32, rows, width, stride int, mean float64) (sumDy, sumDyDev float64, ok bool) {
	if !haveAVX512 || !rowsFit(len(dy), rows, width, stride) || !rowsFit(len(x), rows, width, stride) {
		return 0, 0, false
	}
	var out [16]float64
	gradSumsAVX512(&dy[0], &x[0], rows, width, stride, mean, &out)
	sumDy, sumDyDev = laneSums(&out)
	return sumDy, sumDyDev, true
}

// normGradRowsFloat32 is normGradRows with AVX-512; it reports false where the CPU lacks it.
func normGradRowsFloat32(dy, x, dx []float32, rows, width, stride int, k *[4]float64) bool {
	n := len(dy)
	if !haveAVX512 || !rowsFit(n, rows, width, stride) || len(x) < n || len(dx) < n {
		return false
	}
	normGradRowsAVX512(&dy[0], &x[0], &dx[0], rows, width, stride, k)
	return true
}

// affineRowsFloat32 is affineRows with AVX-512; it reports false where the CPU lacks it.
func affineRowsFloat32(x, y []float32, rows, width, stride int, scale, shift float32) bool {
	if !haveAVX512 || !rowsFit(len(x), rows, width, stride) || len(y) < len(x) {
		return false
	}
	affineRowsAVX512(&x[0], &y[0], rows, width, stride, scale, shift)
	return true
}
