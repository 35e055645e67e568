package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// TestBatchNormRowKernels checks batch normalisation's row kernels on float32 data (AVX-512 where the
// CPU has it) against the float64 Go loops, over widths on both sides of the 8- and 16-lane chunks and
// strides with gaps between rows, which must stay untouched.
func TestBatchNormRowKernels(t *testing.T) {
	const guard = float32(-12345)
	for _, tc := range []struct{ rows, width, gap int }{
		{1, 1, 0}, {3, 5, 2}, {2, 7, 0}, {4, 8, 3}, {2, 9, 1}, {5, 15, 0}, {3, 16, 5}, {2, 17, 0},
		{64, 49, 49 * 63}, {6, 31, 4}, {3, 33, 0}, {2, 196, 7}, {1, 300, 0},
	} {
		t.Run(fmt.Sprintf("%dx%d+%d", tc.rows, tc.width, tc.gap), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.rows), uint64(tc.width)))
			stride := tc.width + tc.gap
			size := (tc.rows-1)*stride + tc.width
			x, dy := make([]float32, size), make([]float32, size)
			x64, dy64 := make([]float64, size), make([]float64, size)
			for i := range x {
				// An offset far from zero: the sums work on deviations, which must stay accurate.
				x[i], dy[i] = 40+rng.Float32(), rng.Float32()-0.5
				x64[i], dy64[i] = float64(x[i]), float64(dy[i])
			}
			shift, mean := float64(x[0]), 40.5

			s, q := deviationSums(x, tc.rows, tc.width, stride, shift)
			s64, q64 := deviationSums(x64, tc.rows, tc.width, stride, shift)
			near(t, "Σ(x-shift)", s, s64, float64(size))
			near(t, "Σ(x-shift)²", q, q64, float64(size))

			g, p := gradSums(dy, x, tc.rows, tc.width, stride, mean)
			g64, p64 := gradSums(dy64, x64, tc.rows, tc.width, stride, mean)
			near(t, "Σdy", g, g64, float64(size))
			near(t, "Σdy·(x-mean)", p, p64, float64(size))

			coef := [4]float64{1.7, 0.01, mean, 0.3}
			dx, want := filled(size, guard), filled(size, guard)
			normGradRows(dy, x, dx, tc.rows, tc.width, stride, &coef)
			normGradRowsGo(dy, x, want, tc.rows, tc.width, stride, &coef)
			same(t, "dx", dx, want)

			y, wantY := filled(size, guard), filled(size, guard)
			affineRows(x, y, tc.rows, tc.width, stride, 0.75, -3)
			affineRowsGo(x, wantY, tc.rows, tc.width, stride, 0.75, -3)
			same(t, "y", y, wantY)
			for r := 0; r+1 < tc.rows; r++ {
				for i := r*stride + tc.width; i < (r+1)*stride; i++ {
					if dx[i] != guard || y[i] != guard {
						t.Fatalf("element %d between rows was written: dx %g, y %g", i, dx[i], y[i])
					}
				}
			}
		})
	}
}

// near fails unless got is within 1e-12 of want, relative to scale.
func near(t *testing.T, what string, got, want, scale float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12*scale {
		t.Fatalf("%s = %.17g, want %.17g", what, got, want)
	}
}

func filled(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// same fails unless got and want are equal bit for bit.
func same(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %g, want %g (the Go loop's)", what, i, got[i], want[i])
		}
	}
}

// TestBatchNormMomentsMemo runs a training program with two batch normalisations (forward, statistics,
// gradients) twice on different inputs: each run must match the tape machine, so the per-run moments
// memo neither serves the first run's moments to the second nor one layer's to the other.
func TestBatchNormMomentsMemo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	g := G.NewGraph()
	n, c, hw := 4, 3, 6
	x := input(g, rng, "x", n, c, 1, hw)
	gamma1, beta1 := input(g, rng, "gamma1", c), input(g, rng, "beta1", c)
	gamma2, beta2 := input(g, rng, "gamma2", c), input(g, rng, "beta2", c)
	y1, err := G.ApplyOp(BatchNormTrain{Eps: 1e-3}, x, gamma1, beta1)
	if err != nil {
		t.Fatal(err)
	}
	h, err := G.ApplyOp(ReLU{}, y1)
	if err != nil {
		t.Fatal(err)
	}
	y2, err := G.ApplyOp(BatchNormTrain{Eps: 1e-3}, h, gamma2, beta2)
	if err != nil {
		t.Fatal(err)
	}
	stats1, err := G.ApplyOp(BatchStats{Rank: 4}, x)
	if err != nil {
		t.Fatal(err)
	}
	stats2, err := G.ApplyOp(BatchStats{Rank: 4}, h)
	if err != nil {
		t.Fatal(err)
	}
	gy := input(g, rng, "gy", n, c, 1, hw)
	grads, err := G.Backpropagate(G.Nodes{y2}, G.Nodes{gy}, G.Nodes{x, gamma1, gamma2})
	if err != nil {
		t.Fatal(err)
	}
	outputs := append(G.Nodes{y2, stats1, stats2}, grads...)
	prog, err := Compile(NewExec(2), outputs...)
	if err != nil {
		t.Fatal(err)
	}
	if !prog.memo {
		t.Fatal("a program with batch-normalisation gradients runs without memos")
	}
	for run := 0; run < 2; run++ {
		if run > 0 {
			for i, v := range prog.Value(x).Float64s() {
				prog.Value(x).Float64s()[i] = 2*v + 1
			}
			if err := G.Let(x, prog.Value(x).Clone()); err != nil {
				t.Fatal(err)
			}
		}
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		vm := G.NewTapeMachine(g)
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		vm.Close()
		for _, o := range outputs {
			want, err := asDense(o.Value())
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range want.Float64s() {
				if got := prog.Value(o).Float64s()[j]; math.Abs(got-v) > 1e-12*(1+math.Abs(v)) {
					t.Fatalf("run %d, %v[%d]: program %v, tape machine %v", run, o, j, got, v)
				}
			}
		}
	}
}

// TestBatchNormEmptyBatch checks that a batch of no images gives undefined (NaN) statistics and empty
// outputs instead of a panic.
func TestBatchNormEmptyBatch(t *testing.T) {
	e := NewExec(1)
	defer e.Close()
	gamma, beta, stats := []float32{1, 1}, []float32{0, 0}, make([]float32, 4)
	batchStats(e, 0, 2, 3, nil, stats)
	for i, v := range stats {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("stats[%d] = %v for an empty batch, want NaN", i, v)
		}
	}
	batchNormTrain(e, 0, 2, 3, 1e-3, nil, gamma, beta, nil)
	batchNormTrainGrad(e, 0, 2, 3, 1e-3, nil, gamma, nil, nil)
}
