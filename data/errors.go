package data

import "errors"

// Sentinel errors. Every error returned by this package that falls into one of
// these classes wraps the matching sentinel, so callers can test with errors.Is.
var (
	// ErrChecksum: a file's size or hash differs from the dataset table.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrFormat: a file is not valid IDX/gzip, is truncated, or is inconsistent
	// (wrong magic number, absurd header, image/label count mismatch, label out of range).
	ErrFormat = errors.New("bad file format")
	// ErrNotFound: a dataset file, or a dataset name, does not exist.
	ErrNotFound = errors.New("not found")
	// ErrDownload: an HTTP download failed or was interrupted.
	ErrDownload = errors.New("download failed")
	// ErrArgument: an argument or option is invalid (bad spec, batch size, split size...).
	ErrArgument = errors.New("invalid argument")
)
