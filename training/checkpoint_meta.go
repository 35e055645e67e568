package training

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// maxHeaderBytes bounds the JSON header a metadata read accepts; fovea's own headers are a few
// kilobytes, and the safetensors format itself caps them at 100 MB.
const maxHeaderBytes = 100 << 20

// LoadCheckpointMetadata reads only the metadata of a safetensors file (its header), not its tensors,
// so it costs one small read however large the file. The result is never nil.
func LoadCheckpointMetadata(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint metadata: %w", err)
	}
	defer f.Close()
	metadata, err := readHeaderMetadata(f)
	if err != nil {
		return nil, fmt.Errorf("read checkpoint metadata of %s: %w", path, err)
	}
	return metadata, nil
}

func readHeaderMetadata(r io.Reader) (map[string]string, error) {
	var prefix [8]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, fmt.Errorf("no safetensors length prefix: %w", err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n < 2 || n > maxHeaderBytes {
		return nil, fmt.Errorf("malformed safetensors header length %d", n)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("truncated safetensors header: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(header, &fields); err != nil {
		return nil, fmt.Errorf("malformed safetensors header: %w", err)
	}
	metadata := map[string]string{}
	if raw, ok := fields["__metadata__"]; ok {
		if err := json.Unmarshal(raw, &metadata); err != nil {
			return nil, fmt.Errorf("malformed safetensors metadata: %w", err)
		}
	}
	return metadata, nil
}

// ErrNoInputRecorded reports a weights file or checkpoint that does not say which input size its
// model was built for (files written before fovea recorded it, or not written by fovea).
var ErrNoInputRecorded = errors.New("no input size recorded")

// RecordedInput returns the input shape (channels, height, width) of the model whose weights or
// training checkpoint path holds, as SaveWeights and SaveCheckpoint record it, without reading the
// tensors. A file without the record gives ErrNoInputRecorded.
func RecordedInput(path string) (channels, height, width int, err error) {
	metadata, err := LoadCheckpointMetadata(path)
	if err != nil {
		return 0, 0, 0, err
	}
	in, ok := metadata["input"]
	if !ok {
		return 0, 0, 0, fmt.Errorf("%s: %w", path, ErrNoInputRecorded)
	}
	dims, err := parseInputMeta(in)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("%w: %s: input %q: %v", ErrCheckpoint, path, in, err)
	}
	return dims[0], dims[1], dims[2], nil
}

// parseInputMeta reads "CxHxW" as inputMeta writes it.
func parseInputMeta(s string) ([3]int, error) {
	var dims [3]int
	parts := strings.Split(s, "x")
	if len(parts) != 3 {
		return dims, errors.New("want CxHxW")
	}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v <= 0 {
			return dims, fmt.Errorf("dimension %q is not a positive integer", p)
		}
		dims[i] = v
	}
	return dims, nil
}
