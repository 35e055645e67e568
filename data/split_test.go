package data

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestSplitSizes(t *testing.T) {
	// Boundaries round(p·n/100), ties to even as Python's round in TFDS:
	// 3670: 367 | round(917.5) = 918 → 367, 551, 2752;  10: 1 | round(2.5) = 2 → 1, 1, 8;
	// 7: round(0.7) = 1 | round(1.75) = 2 → 1, 1, 5;  6: round(0.6) = 1 | round(1.5) = 2 → 1, 1, 4;
	// 2: round(0.2) = 0 | round(0.5) = 0 → 0, 0, 2;  3: round(0.3) = 0 | round(0.75) = 1 → 0, 1, 2.
	cases := []struct{ n, test, valid, train int }{
		{3670, 367, 551, 2752}, {10, 1, 1, 8}, {7, 1, 1, 5}, {6, 1, 1, 4}, {2, 0, 0, 2}, {3, 0, 1, 2}, {0, 0, 0, 0},
	}
	for _, tc := range cases {
		tr, va, te, err := SplitIndices(make([]int32, tc.n), FlowersSplit(42))
		if err != nil {
			t.Fatal(err)
		}
		if len(te) != tc.test || len(va) != tc.valid || len(tr) != tc.train {
			t.Errorf("n=%d: test %d valid %d train %d, want %d %d %d", tc.n, len(te), len(va), len(tr), tc.test, tc.valid, tc.train)
		}
		all := slices.Sorted(slices.Values(slices.Concat(tr, va, te)))
		if !slices.Equal(all, indices(tc.n)) {
			t.Errorf("n=%d: the parts are not a partition", tc.n)
		}
	}
}

func TestSplitDeterminism(t *testing.T) {
	labels := make([]int32, 500)
	for i := range labels {
		labels[i] = int32(i % 5)
	}
	for _, strat := range []bool{false, true} {
		opts := FlowersSplit(7)
		opts.Stratified = strat
		a1, b1, c1, _ := SplitIndices(labels, opts)
		a2, b2, c2, _ := SplitIndices(labels, opts)
		if !slices.Equal(a1, a2) || !slices.Equal(b1, b2) || !slices.Equal(c1, c2) {
			t.Errorf("stratified=%v: same seed, different split", strat)
		}
		opts.Seed = 8
		_, _, c3, _ := SplitIndices(labels, opts)
		if slices.Equal(c1, c3) {
			t.Errorf("stratified=%v: seeds 7 and 8 give the same test set", strat)
		}
		if slices.IsSorted(c1) {
			t.Errorf("stratified=%v: test set is in the original order, not shuffled", strat)
		}
	}
}

// Stratified: classes of 10, 6 and 2 items split per class as 1/1/8, 1/1/4 and 0/0/2 (see TestSplitSizes).
func TestSplitStratified(t *testing.T) {
	var labels []int32
	for c, n := range []int{10, 6, 2} {
		for range n {
			labels = append(labels, int32(c))
		}
	}
	opts := SplitOptions{TestPercent: 10, ValidPercent: 15, Seed: 3, Stratified: true}
	tr, va, te, err := SplitIndices(labels, opts)
	if err != nil {
		t.Fatal(err)
	}
	count := func(idx []int) []int {
		c := make([]int, 3)
		for _, i := range idx {
			c[labels[i]]++
		}
		return c
	}
	for _, tc := range []struct {
		name string
		idx  []int
		want []int
	}{{"test", te, []int{1, 1, 0}}, {"valid", va, []int{1, 1, 0}}, {"train", tr, []int{8, 4, 2}}} {
		if got := count(tc.idx); !slices.Equal(got, tc.want) {
			t.Errorf("%s per class %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, _, _, err := SplitIndices([]int32{0, -1}, opts); !errors.Is(err, ErrArgument) {
		t.Errorf("negative label: %v", err)
	}
}

func TestSplitErrors(t *testing.T) {
	for _, o := range []SplitOptions{
		{TestPercent: -1}, {ValidPercent: -0.5}, {TestPercent: 60, ValidPercent: 41}, {TestPercent: math.NaN()}, {ValidPercent: math.Inf(1)},
	} {
		if _, _, _, err := SplitIndices(make([]int32, 10), o); !errors.Is(err, ErrArgument) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if _, _, _, err := SplitImages(nil, FlowersSplit(1)); !errors.Is(err, ErrArgument) {
		t.Errorf("nil images: %v", err)
	}
	// All to test, or all to train.
	tr, va, te, _ := SplitIndices(make([]int32, 9), SplitOptions{TestPercent: 100})
	if len(tr)+len(va) != 0 || len(te) != 9 {
		t.Errorf("100%% test: %d %d %d", len(tr), len(va), len(te))
	}
}

// Splitting the listing before decoding selects the same photos as splitting the decoded set.
func TestSplitFolderMatchesImages(t *testing.T) {
	dir, _, _ := testFolder(t)
	f, err := ScanImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.Load(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := SplitOptions{TestPercent: 34, ValidPercent: 33, Seed: 5}
	ftr, fva, fte, err := f.Split(opts)
	if err != nil {
		t.Fatal(err)
	}
	mtr, mva, mte, err := SplitImages(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ a, b []string }{{ftr.Paths, mtr.Paths}, {fva.Paths, mva.Paths}, {fte.Paths, mte.Paths}} {
		if !slices.Equal(p.a, p.b) || len(p.a) != 1 {
			t.Errorf("folder split %v, image split %v", p.a, p.b)
		}
	}
}
