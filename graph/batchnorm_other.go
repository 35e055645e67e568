//go:build !amd64 || purego

package graph

// The vector row kernels exist on amd64 only; elsewhere batch normalisation runs its Go loops.

func deviationSumsFloat32(x []float32, rows, width, stride int, shift float64) (sum, squares float64, ok bool) {
	return 0, 0, false
}

func gradSumsFloat32(dy, x []float32, rows, width, stride int, mean float64) (sumDy, sumDyDev float64, ok bool) {
	return 0, 0, false
}

func normGradRowsFloat32(dy, x, dx []float32, rows, width, stride int, k *[4]float64) bool {
	return false
}

func affineRowsFloat32(x, y []float32, rows, width, stride int, scale, shift float32) bool {
	return false
}
