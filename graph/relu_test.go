package graph

import (
	"math"
	"testing"
)

// TestReLUFloat32 checks the branch-free float32 kernels against their definition.
func TestReLUFloat32(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	inf := float32(math.Inf(1))
	x := []float32{-3, -1e-30, negZero, 0, 1e-30, 2.5, inf, -inf, math.MaxFloat32, -math.MaxFloat32}
	y := make([]float32, len(x))
	relu32(x, y)
	for i, v := range x {
		want := float32(0)
		if v > 0 {
			want = v
		}
		if y[i] != want || math.Signbit(float64(y[i])) {
			t.Errorf("relu(%v) = %v, want +%v", v, y[i], want)
		}
	}
	dy := make([]float32, len(x))
	for i := range dy {
		dy[i] = float32(i) - 4.5
	}
	ys, dys := append(x, negZero), append(dy, 7)
	dx := make([]float32, len(ys))
	reluGrad32(ys, dys, dx)
	if dx[len(x)] != 0 {
		t.Errorf("reluGrad(y=-0) = %v, want 0", dx[len(x)])
	}
	for i, v := range x {
		want := float32(0)
		if v > 0 {
			want = dy[i]
		}
		if dx[i] != want {
			t.Errorf("reluGrad(y=%v, dy=%v) = %v, want %v", v, dy[i], dx[i], want)
		}
	}
}
