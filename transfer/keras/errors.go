package keras

import "errors"

// Sentinel errors that callers may test with errors.Is.
var (
	// ErrNotHDF5 reports a file that does not start with the HDF5 signature.
	ErrNotHDF5 = errors.New("not an HDF5 file")
	// ErrTruncated reports a file shorter than its own structures say it is.
	ErrTruncated = errors.New("truncated HDF5 file")
	// ErrCorrupt reports HDF5 structures that are malformed or inconsistent.
	ErrCorrupt = errors.New("corrupt HDF5 file")
	// ErrTooLarge reports a dataset or structure whose claimed size is beyond what a weights file holds.
	ErrTooLarge = errors.New("implausibly large HDF5 object")
	// ErrUnsupported reports valid HDF5 that uses features Keras weight files never use.
	ErrUnsupported = errors.New("unsupported HDF5 feature")
	// ErrNotKeras reports an HDF5 file without the Keras weights layout (no layer_names).
	ErrNotKeras = errors.New("not a Keras weights file")
	// ErrMissing reports a layer or weight that the file lists but does not hold.
	ErrMissing = errors.New("listed but absent")
	// ErrMismatch reports Keras weights that do not fit a fovea model's parameters.
	ErrMismatch = errors.New("weights do not fit the model")
)
