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
//
// Photos in class folders (tf_flowers) follow the same pattern with decoded RGB
// photos of any size, cropped and resized as tf.image.resize does when a batch is filled:
//
//	_, err = data.EnsureFlowers(ctx, root, data.FetchOptions{})       // flower_photos.tgz, sha256, safe extraction
//	photos, err := data.LoadFlowers(root, data.LoadOptions{ShorterSide: 256})
//	train, valid, test, err := data.SplitFlowers(photos, 42)          // 75% / 15% / 10%, as the book
//	b, err := data.NewImageBatcher(train, data.ImageBatchOptions{BatchSize: 32, Train: true, Shuffle: true, Seed: 42, Norm: data.ScaleToUnit(3)})
package data
