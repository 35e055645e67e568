package training

import (
	"errors"
	"fmt"
	"math"

	"fovea/data"
)

// Predict returns the model's class probabilities (softmax of its outputs) for every image of ds, in
// evaluation mode (no dropout, BatchNorm with moving statistics), standardised with Config.Norm: a
// row-major ds.N × classes slice, as Keras' model.predict for a softmax head.
func (t *Trainer) Predict(ds *data.Dataset) (probs []float32, classes int, err error) {
	p, err := t.predict(ds)
	return p.probs, p.classes, err
}

// prediction is one evaluation pass over a dataset: the class probabilities and, from the same pass,
// the mean loss and the accuracy Evaluate reports.
type prediction struct {
	probs          []float32
	classes        int
	loss, accuracy float64
}

// predict runs the evaluation program over ds, keeping the probabilities as well as the loss and
// accuracy.
func (t *Trainer) predict(ds *data.Dataset) (prediction, error) {
	var out prediction
	if t.cfg.Norm == nil {
		return out, errors.New("predict: a dataset needs a standardizer (Config.Norm)")
	}
	batches, err := data.NewBatcher(ds, data.BatchOptions{BatchSize: t.cfg.EvalBatchSize, Norm: t.cfg.Norm})
	if err != nil {
		return out, err
	}
	var sums evalSums
	err = t.forEachEvalBatch(batches, func(p *program, n int, loss float64, correct int) error {
		sums.add(n, loss, correct)
		if p.dev != nil {
			if err := p.dev.exec.Download(p.logits); err != nil {
				return fmt.Errorf("predict: %w", err)
			}
		}
		if shape := p.logits.Shape(); len(shape) != 2 || shape[0] != n {
			return fmt.Errorf("predict: %s's outputs have shape %v, want (%d, classes)", t.model.Name(), shape, n)
		}
		out.classes = p.logits.Shape()[1]
		out.probs = appendSoftmax(out.probs, p.logits.Float32s(), out.classes)
		return nil
	})
	if err != nil {
		return out, err
	}
	out.loss, out.accuracy, err = sums.means("predict")
	return out, err
}

// appendSoftmax appends the softmax of each row of logits (rows of width classes) to probs.
func appendSoftmax(probs, logits []float32, classes int) []float32 {
	for r := 0; r+classes <= len(logits); r += classes {
		row := logits[r : r+classes]
		top := math.Inf(-1)
		for _, v := range row {
			top = math.Max(top, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - top)
		}
		for _, v := range row {
			probs = append(probs, float32(math.Exp(float64(v)-top)/sum))
		}
	}
	return probs
}

// EvaluateMirrorTTA returns the mean loss and the accuracy on ds, as Evaluate does, and the accuracy
// with horizontal-flip test-time augmentation: each image's prediction is the mean of the class
// probabilities of the image and of its mirror image. It runs the model once over ds and once over
// the mirror images. It suits models trained with random horizontal flips
// (data.Augment.FlipHorizontal), for which both views are equally familiar.
func (t *Trainer) EvaluateMirrorTTA(ds *data.Dataset) (loss, accuracy, mirrorAccuracy float64, err error) {
	plain, err := t.predict(ds)
	if err != nil {
		return 0, 0, 0, err
	}
	mirrored, err := t.predict(ds.MirroredHorizontally())
	if err != nil {
		return 0, 0, 0, err
	}
	mirrorAccuracy, err = AverageAccuracy(ds.Labels, plain.classes, plain.probs, mirrored.probs)
	return plain.loss, plain.accuracy, mirrorAccuracy, err
}

// AverageAccuracy is the accuracy of the mean of several predictions (row-major len(labels) × classes
// probabilities each) against labels; ties go to the lower class.
func AverageAccuracy(labels []int32, classes int, predictions ...[]float32) (float64, error) {
	if len(labels) == 0 || classes <= 0 || len(predictions) == 0 {
		return 0, errors.New("average accuracy: no labels, classes or predictions")
	}
	for i, p := range predictions {
		if len(p) != len(labels)*classes {
			return 0, fmt.Errorf("average accuracy: prediction %d has %d values for %d labels × %d classes", i, len(p), len(labels), classes)
		}
	}
	right := 0
	for i, label := range labels {
		best, bestSum := 0, math.Inf(-1)
		for c := 0; c < classes; c++ {
			var sum float64
			for _, p := range predictions {
				sum += float64(p[i*classes+c])
			}
			if sum > bestSum {
				best, bestSum = c, sum
			}
		}
		if int32(best) == label {
			right++
		}
	}
	return float64(right) / float64(len(labels)), nil
}
