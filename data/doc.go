// Package data loads datasets (Fashion-MNIST, MNIST) from disk, downloads and
// verifies their files, and turns them into standardised, optionally augmented
// NCHW float32 batches for training; it never touches the graph, models or
// training state.
//
// The flow is:
//
//	root, err := data.ResolveRoot(*dataFlag)                 // flag, $FOVEA_DATA, or the user cache
//	err = data.Ensure(ctx, root, data.FashionMNISTSpec(), data.FetchOptions{})
//	train, test, err := data.LoadFashionMNIST(root)          // checksums verified, IDX parsed
//	train, valid, err := data.SplitLast(train, 5000)
//	norm := data.FitStandardizer(train)
//	b, err := data.NewBatcher(train, data.BatchOptions{BatchSize: 32, Shuffle: true, Seed: 42, Norm: norm})
//	for e := range epochs {
//		b.Epoch(e)
//		for n, ok := b.Next(x, y); ok; n, ok = b.Next(x, y) { ... }
//	}
//
// Datasets keep raw uint8 pixels (N×H×W×C); conversion to float32 happens only
// when a batch is filled, into buffers owned by the caller.
package data
