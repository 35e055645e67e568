package training

import (
	"math"
	"testing"

	"fovea/arch"
	"fovea/data"
)

func TestAverageAccuracy(t *testing.T) {
	labels := []int32{0, 1, 2}
	a := []float32{0.6, 0.3, 0.1, 0.5, 0.4, 0.1, 0.2, 0.2, 0.6}
	b := []float32{0.1, 0.8, 0.1, 0.2, 0.7, 0.1, 0.1, 0.8, 0.1}
	for _, tc := range []struct {
		name    string
		preds   [][]float32
		classes int
		want    float64
		err     bool
	}{
		{name: "one prediction", preds: [][]float32{a}, classes: 3, want: 2.0 / 3},
		{name: "the mean decides", preds: [][]float32{a, b}, classes: 3, want: 1.0 / 3},
		{name: "a tie goes to the lower class", preds: [][]float32{{0.5, 0.5, 0, 0.5, 0.5, 0, 0.5, 0.5, 0}}, classes: 3, want: 1.0 / 3},
		{name: "wrong length", preds: [][]float32{a, b[:6]}, classes: 3, err: true},
		{name: "no predictions", classes: 3, err: true},
		{name: "no classes", preds: [][]float32{a}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AverageAccuracy(labels, tc.classes, tc.preds...)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error: %v", err, tc.err)
			}
			if !tc.err && math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("accuracy %v, want %v", got, tc.want)
			}
		})
	}
}

// symmetric returns d with every image made left–right symmetric (its left half mirrored onto its right).
func symmetric(d *data.Dataset) *data.Dataset {
	s := *d
	s.Pixels = append([]uint8(nil), d.Pixels...)
	for r := 0; r < d.N*d.H; r++ {
		row := s.Pixels[r*d.W : (r+1)*d.W]
		for x := 0; x < d.W/2; x++ {
			row[d.W-1-x] = row[x]
		}
	}
	return &s
}

// TestPredict checks Predict against Evaluate (its most probable class is right exactly as often as
// Evaluate counts, over a partial last batch too), that each row is a distribution, and the mirror
// test-time augmentation: on symmetric images it changes nothing, and on others it is the mean of the
// two views' predictions.
func TestPredict(t *testing.T) {
	train, val := syntheticImages(200, 1), syntheticImages(37, 2)
	tr, err := NewTrainer(arch.FashionFCN{}, nil, Config{Epochs: 1, BatchSize: 16, EvalBatchSize: 16, Seed: 3, Norm: data.FitStandardizer(train)})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Fit(train, nil); err != nil {
		t.Fatal(err)
	}
	_, acc, err := tr.Evaluate(val)
	if err != nil {
		t.Fatal(err)
	}
	probs, classes, err := tr.Predict(val)
	if err != nil {
		t.Fatal(err)
	}
	if classes != 10 || len(probs) != val.N*classes {
		t.Fatalf("Predict gave %d values in rows of %d for %d images", len(probs), classes, val.N)
	}
	for i := 0; i < val.N; i++ {
		var sum float64
		for _, p := range probs[i*classes : (i+1)*classes] {
			if p < 0 || p > 1 || math.IsNaN(float64(p)) {
				t.Fatalf("image %d: probability %v", i, p)
			}
			sum += float64(p)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Fatalf("image %d: probabilities sum to %v", i, sum)
		}
	}
	if got, err := AverageAccuracy(val.Labels, classes, probs); err != nil || got != acc {
		t.Errorf("accuracy of Predict's answers %v (%v), Evaluate's %v", got, err, acc)
	}
	if acc <= 0.2 {
		t.Errorf("accuracy %v after an epoch: the model learnt nothing, the comparison proves little", acc)
	}

	sym := symmetric(val)
	_, symAcc, err := tr.Evaluate(sym)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, tta, err := tr.EvaluateMirrorTTA(sym); err != nil || tta != symAcc {
		t.Errorf("mirror TTA on symmetric images: %v (%v), plain accuracy %v", tta, err, symAcc)
	}
	mirrored, _, err := tr.Predict(val.MirroredHorizontally())
	if err != nil {
		t.Fatal(err)
	}
	want, err := AverageAccuracy(val.Labels, classes, probs, mirrored)
	if err != nil {
		t.Fatal(err)
	}
	loss, plainAcc, tta, err := tr.EvaluateMirrorTTA(val)
	if err != nil || tta != want {
		t.Errorf("mirror TTA accuracy %v (%v), want the mean prediction's %v", tta, err, want)
	}
	// the plain loss and accuracy come from the same pass, as Evaluate reports them
	if wantLoss, _, err := tr.Evaluate(val); err != nil || math.Abs(loss-wantLoss) > 1e-12 || plainAcc != acc {
		t.Errorf("EvaluateMirrorTTA's plain loss %v and accuracy %v, Evaluate's %v and %v (%v)", loss, plainAcc, wantLoss, acc, err)
	}
}
