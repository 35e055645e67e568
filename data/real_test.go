package data

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// realRoot returns $FOVEA_DATA if it holds folder, else skips the test.
func realRoot(t *testing.T, folder string) string {
	t.Helper()
	root := os.Getenv(EnvRoot)
	if root == "" {
		t.Skipf("$%s is not set; skipping the test on real %s data", EnvRoot, folder)
	}
	if _, err := os.Stat(filepath.Join(root, folder)); err != nil {
		t.Skipf("no %s data under $%s=%s: %v", folder, EnvRoot, root, err)
	}
	return root
}

// checkIDXDataset checks shapes, label range and balanced classes.
func checkIDXDataset(t *testing.T, name string, d *Dataset, n, perClass int) {
	t.Helper()
	if d.N != n || d.C != 1 || d.H != 28 || d.W != 28 || d.Classes != 10 || len(d.Pixels) != n*784 || len(d.Labels) != n {
		t.Fatalf("%s: N=%d C=%d H=%d W=%d classes=%d pixels=%d labels=%d", name, d.N, d.C, d.H, d.W, d.Classes, len(d.Pixels), len(d.Labels))
	}
	counts := make([]int, 10)
	for _, l := range d.Labels {
		if l < 0 || l > 9 {
			t.Fatalf("%s: label %d", name, l)
		}
		counts[l]++
	}
	if perClass > 0 {
		for c, k := range counts {
			if k != perClass {
				t.Errorf("%s: class %d has %d samples, want %d", name, c, k, perClass)
			}
		}
	}
}

func TestFashionMNISTReal(t *testing.T) {
	root := realRoot(t, "fashion-mnist")
	if err := Verify(root, FashionMNISTSpec()); err != nil {
		t.Fatal(err)
	}
	train, test, err := LoadFashionMNIST(root)
	if err != nil {
		t.Fatal(err)
	}
	checkIDXDataset(t, "train", train, 60000, 6000)
	checkIDXDataset(t, "test", test, 10000, 1000)

	// First labels of the official files (checked against the data): 9 0 0 3 0 (train), 9 2 1 1 6 (test).
	for _, tc := range []struct {
		d    *Dataset
		want []int32
	}{{train, []int32{9, 0, 0, 3, 0}}, {test, []int32{9, 2, 1, 1, 6}}} {
		for i, w := range tc.want {
			if tc.d.Labels[i] != w {
				t.Errorf("label %d = %d, want %d (%v...)", i, tc.d.Labels[i], w, tc.d.Labels[:5])
			}
		}
	}
	if train.ClassNames[train.Labels[0]] != "Ankle boot" {
		t.Errorf("first training image is %q", train.ClassNames[train.Labels[0]])
	}

	// Ensure on a complete, read-only root only verifies.
	if err := Ensure(t.Context(), root, FashionMNISTSpec(), FetchOptions{Offline: true}); err != nil {
		t.Fatal(err)
	}

	rest, valid, err := SplitLast(train, 5000)
	if err != nil || rest.N != 55000 || valid.N != 5000 || valid.Labels[0] != train.Labels[55000] {
		t.Fatalf("SplitLast: %v", err)
	}

	t.Run("standardised pixels have mean 0, std 1", func(t *testing.T) {
		norm := FitStandardizer(rest)
		b, err := NewBatcher(rest, BatchOptions{BatchSize: 500, Norm: norm})
		if err != nil {
			t.Fatal(err)
		}
		sum, sq := make([]float64, 784), make([]float64, 784)
		x, y := make([]float32, 500*784), make([]int32, 500)
		for n, ok := b.Next(x, y); ok; n, ok = b.Next(x, y) {
			for i, v := range x[:n*784] {
				sum[i%784] += float64(v)
				sq[i%784] += float64(v) * float64(v)
			}
		}
		for p := range 784 {
			mean := sum[p] / float64(rest.N)
			std := math.Sqrt(sq[p]/float64(rest.N) - mean*mean)
			wantStd := 1.0
			if norm.Std[p] <= 2*StdEpsilon { // a constant pixel standardises to 0
				wantStd = 0
			}
			if math.Abs(mean) > 1e-3 || math.Abs(std-wantStd) > 1e-3 {
				t.Errorf("pixel %d: mean %.2g std %.6f", p, mean, std)
			}
		}
	})
}

func TestMNISTReal(t *testing.T) {
	root := realRoot(t, "mnist")
	train, test, err := LoadMNIST(root)
	if err != nil {
		t.Fatal(err)
	}
	checkIDXDataset(t, "train", train, 60000, 0) // MNIST classes are not balanced
	checkIDXDataset(t, "test", test, 10000, 0)
	if train.Labels[0] != 5 || test.Labels[0] != 7 {
		t.Errorf("first labels %d, %d; want 5, 7", train.Labels[0], test.Labels[0])
	}
}
