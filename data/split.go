package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// streamSplit separates the split's random stream from the others (see rng.go).
const streamSplit uint64 = 0x53706c6974536574 // "SplitSet"

// SplitOptions describes a seeded train/validation/test split in the manner of TensorFlow Datasets'
// percent slices: the items are shuffled with Seed, then the first TestPercent% are the test set, the
// next ValidPercent% the validation set and the rest the training set.
type SplitOptions struct {
	TestPercent, ValidPercent float64
	Seed                      uint64
	// Stratified applies the percentages to every class separately, so each split keeps the class
	// proportions (up to rounding); otherwise they apply to the whole shuffled list, as TFDS does.
	Stratified bool
}

// FlowersSplit is the split of Géron's chapter 14 for tf_flowers, tfds.load(split=["train[:10%]",
// "train[10%:25%]", "train[25%:]"]) on an order shuffled with seed: 10% test, 15% validation, 75% train.
// On the 3670 photos that is 367 test, 551 validation and 2752 training photos.
func FlowersSplit(seed uint64) SplitOptions {
	return SplitOptions{TestPercent: 10, ValidPercent: 15, Seed: seed}
}

// percentBoundary is TFDS's "closest" rounding of a percent slice boundary: round(p·n/100) with ties to
// even, as Python's round.
func percentBoundary(p float64, n int) int {
	return int(math.RoundToEven(p * float64(n) / 100))
}

// SplitIndices splits the items 0..len(labels)−1 (labels are only read when opts.Stratified). The
// shuffle is a Fisher–Yates permutation driven by PCG seeded from opts.Seed alone, so a split is a pure
// function of (the item order, the labels, opts). Each returned list keeps the shuffled order. With
// n items the test set has round(TestPercent·n/100) items and the test plus validation sets
// round((TestPercent+ValidPercent)·n/100), ties to even (per class when stratified).
func SplitIndices(labels []int32, opts SplitOptions) (train, valid, test []int, err error) {
	tp, vp := opts.TestPercent, opts.ValidPercent
	if !(tp >= 0 && vp >= 0 && tp+vp <= 100) { // also rejects NaN
		return nil, nil, nil, fmt.Errorf("data: split %v%% test and %v%% validation: percentages must be ≥ 0 and add up to at most 100: %w", tp, vp, ErrArgument)
	}
	n := len(labels)
	perm := indices(n)
	var pcg rand.PCG
	pcg.Seed(splitmix64(opts.Seed^streamSplit), splitmix64(streamSplit))
	for i := n - 1; i > 0; i-- {
		j := bounded(&pcg, uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	if !opts.Stratified {
		b1, b2 := percentBoundary(tp, n), percentBoundary(tp+vp, n)
		return perm[b2:], perm[b1:b2], perm[:b1], nil
	}
	classes := 0
	for i, l := range labels {
		if l < 0 {
			return nil, nil, nil, fmt.Errorf("data: split: label %d of item %d is negative: %w", l, i, ErrArgument)
		}
		classes = max(classes, int(l)+1)
	}
	counts := classCounts(labels, classes)
	rank := make([]int, classes) // members of each class met so far in shuffled order
	for _, i := range perm {
		l := labels[i]
		k, nc := rank[l], counts[l]
		rank[l]++
		switch {
		case k < percentBoundary(tp, nc):
			test = append(test, i)
		case k < percentBoundary(tp+vp, nc):
			valid = append(valid, i)
		default:
			train = append(train, i)
		}
	}
	return train, valid, test, nil
}

// SplitImages splits m with SplitIndices; the parts share m's pixels. Which photo lands where is listed
// by the parts' Paths.
func SplitImages(m *Images, opts SplitOptions) (train, valid, test *Images, err error) {
	if m == nil {
		return nil, nil, nil, fmt.Errorf("data: split of a nil image set: %w", ErrArgument)
	}
	tr, va, te, err := SplitIndices(m.Labels, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	return m.Subset(tr), m.Subset(va), m.Subset(te), nil
}

// SplitFlowers splits m with FlowersSplit(seed): 75% train, 15% validation, 10% test.
func SplitFlowers(m *Images, seed uint64) (train, valid, test *Images, err error) {
	return SplitImages(m, FlowersSplit(seed))
}

// Split splits the listing before decoding, with SplitIndices; given the same listing and options it
// selects exactly the photos SplitImages selects from the loaded set (when nothing was skipped), so
// only the needed parts have to be decoded.
func (f *ImageFolder) Split(opts SplitOptions) (train, valid, test *ImageFolder, err error) {
	tr, va, te, err := SplitIndices(f.Labels, opts)
	if err != nil {
		return nil, nil, nil, err
	}
	return f.Subset(tr), f.Subset(va), f.Subset(te), nil
}
