package keras

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"fovea/arch"
)

// TestXceptionKerasParity is the import path end to end on Xception: testdata/xception_random_h5.py
// writes Keras' Xception without top in Keras' HDF5 weight layout with random weights (BN moving
// variances positive), ConvertFile converts it onto arch.Xception, and fovea's float32 forward pass in
// evaluation mode must give the features that testdata/keras_h5_torch.py, an independent PyTorch
// Xception reading the same .h5 with h5py, computes in float64 on the same batch: relative error
// (max |difference| over max |feature|) below 1e-4.
//
// The inputs are chosen so that TensorFlow's asymmetric SAME padding (0 before, 1 after) is exercised:
// 73 rows give even 34-row maps before block2's strided pooling, 75 columns 18-column maps before
// block3's.
func TestXceptionKerasParity(t *testing.T) {
	if testing.Short() {
		t.Skip("writes, converts and runs an 83 MB Xception weight file")
	}
	needTorch(t)
	tests := []struct {
		name          string
		height, width int
		batch         int
		seed          uint64
	}{
		{"73x75 batch 2", 73, 75, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			dir := t.TempDir()
			h5 := filepath.Join(dir, "xception.h5")
			t.Log(runPython(t, "xception_random_h5.py", h5, fmt.Sprint(tc.seed)))
			written := time.Since(start)

			bb := arch.Xception{Height: tc.height, Width: tc.width}
			weights := filepath.Join(dir, "xception.safetensors")
			s, err := ConvertFile(h5, weights, bb)
			if err != nil {
				t.Fatal(err)
			}
			// Keras reports 20,861,480 parameters for Xception without top, in 80 layers with weights.
			if s != (Summary{Model: "xception", Layers: 80, Tensors: 234, Values: 20861480}) {
				t.Fatalf("summary %+v", s)
			}
			rng := rand.New(rand.NewPCG(tc.seed, 73))
			x := make([]float32, tc.batch*3*tc.height*tc.width)
			for i := range x {
				x[i] = float32(2*rng.Float64() - 1) // Xception's preprocessed range, [-1, 1]
			}
			t0 := time.Now()
			got, shape := backboneFeatures(t, bb, weights, x, tc.batch)
			goTime := time.Since(t0)
			// block1 → 36×37 then 34×35; pools: 17×18, 9×9, 5×5, 3×3.
			if want := fmt.Sprint([]int{tc.batch, 2048, 3, 3}); fmt.Sprint(shape) != want {
				t.Fatalf("features %v, want %s", shape, want)
			}
			t1 := time.Now()
			want := torchFeatures(t, "xception", h5, x, [4]int{tc.batch, 3, tc.height, tc.width})
			torchTime := time.Since(t1)
			if len(want) != len(got) {
				t.Fatalf("PyTorch returned %d values, fovea %d", len(want), len(got))
			}
			rel := relativeError(got, want)
			t.Logf("features %v: max relative error %.3g (largest |feature| %.4g); h5 written in %v, fovea forward %v, PyTorch %v",
				shape, rel, maxAbs64(want), written.Round(time.Millisecond), goTime.Round(time.Millisecond), torchTime.Round(time.Millisecond))
			if rel > 1e-4 {
				t.Errorf("max |fovea − PyTorch| / max |PyTorch| = %.3g, want ≤ 1e-4", rel)
			}
			if active := fractionPositive(want); active < 0.01 {
				t.Errorf("only %.2g of the reference features are positive: the random weights make a degenerate comparison", active)
			}
		})
	}
}

// maxAbs64 is max |v|.
func maxAbs64(v []float64) float64 {
	var m float64
	for _, x := range v {
		m = max(m, x, -x)
	}
	return m
}

// fractionPositive is the fraction of v above zero.
func fractionPositive(v []float64) float64 {
	n := 0
	for _, x := range v {
		if x > 0 {
			n++
		}
	}
	return float64(n) / float64(len(v))
}
