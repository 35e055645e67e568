package graph

import "errors"

// Sentinel errors that callers may test with errors.Is.
var (
	// ErrShape reports inputs whose shapes do not fit an op or layer.
	ErrShape = errors.New("shape mismatch")
	// ErrDtype reports an element type an op does not support.
	ErrDtype = errors.New("unsupported dtype")
	// ErrParam reports a parameter that is missing, duplicated or mis-shaped.
	ErrParam = errors.New("parameter error")
)
