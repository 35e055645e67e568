package training

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestLoadCheckpointMetadataMatchesLoadCheckpoint: reading the header alone gives the metadata that
// reading the whole file gives, for a file with metadata and one without.
func TestLoadCheckpointMetadataMatchesLoadCheckpoint(t *testing.T) {
	for _, meta := range []map[string]string{{"format": weightsFormat, "input": "1x56x56", "note": "ä \"quoted\""}, nil} {
		path := filepath.Join(t.TempDir(), "w.safetensors")
		if err := SaveCheckpoint(path, sampleTensors(), meta); err != nil {
			t.Fatal(err)
		}
		_, whole, err := LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		header, err := LoadCheckpointMetadata(path)
		if err != nil {
			t.Fatal(err)
		}
		if header == nil || !reflect.DeepEqual(header, whole) {
			t.Errorf("header metadata %v, whole-file metadata %v", header, whole)
		}
	}
}

// TestRecordedInput reads the input shape a weights file records, and refuses files that record none,
// record it malformed, or are not safetensors at all.
func TestRecordedInput(t *testing.T) {
	dir := t.TempDir()
	header := func(json string) []byte {
		return append(binary.LittleEndian.AppendUint64(nil, uint64(len(json))), json...)
	}
	save := func(name string, meta map[string]string) string {
		path := filepath.Join(dir, name)
		if err := SaveCheckpoint(path, sampleTensors(), meta); err != nil {
			t.Fatal(err)
		}
		return path
	}
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name    string
		path    string
		want    [3]int
		wantErr error // nil: success; errAny: any error
	}{
		{"56×56 weights", save("in56", map[string]string{"input": "1x56x56"}), [3]int{1, 56, 56}, nil},
		{"RGB, not square", save("rgb", map[string]string{"input": "3x224x200"}), [3]int{3, 224, 200}, nil},
		{"no input recorded", save("old", map[string]string{"format": weightsFormat}), [3]int{}, ErrNoInputRecorded},
		{"two dimensions", save("2d", map[string]string{"input": "56x56"}), [3]int{}, ErrCheckpoint},
		{"zero side", save("zero", map[string]string{"input": "1x0x56"}), [3]int{}, ErrCheckpoint},
		{"not a number", save("nan", map[string]string{"input": "1xbigx56"}), [3]int{}, ErrCheckpoint},
		{"header only, cut short", write("short", header(`{"__metadata__":{"input":"1x5`)[:20]), [3]int{}, errAny},
		{"metadata not strings", write("ints", header(`{"__metadata__":{"input":1}}`)), [3]int{}, errAny},
		{"huge header length", write("huge", binary.LittleEndian.AppendUint64(nil, 1<<40)), [3]int{}, errAny},
		{"empty file", write("empty", nil), [3]int{}, errAny},
		{"missing file", filepath.Join(dir, "absent"), [3]int{}, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, h, w, err := RecordedInput(tt.path)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantErr == nil && [3]int{c, h, w} != tt.want:
				t.Fatalf("input %d×%d×%d, want %v", c, h, w, tt.want)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("input %d×%d×%d, want an error", c, h, w)
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			case err != nil && !strings.Contains(err.Error(), tt.path):
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}

// errAny stands for "some error" in table tests.
var errAny = errors.New("any error")

// FuzzReadHeaderMetadata: the header-only reader never panics on arbitrary bytes, and whenever the
// whole-file decoder accepts the bytes, both give the same metadata.
func FuzzReadHeaderMetadata(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.safetensors")
	if err := SaveCheckpoint(path, sampleTensors(), map[string]string{"input": "1x56x56", "format": weightsFormat}); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Add(append(binary.LittleEndian.AppendUint64(nil, 2), "{}"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		header, err := readHeaderMetadata(bytes.NewReader(data))
		if err == nil && header == nil {
			t.Fatal("nil metadata without an error")
		}
		if _, whole, wholeErr := decodeCheckpoint(data); wholeErr == nil {
			if err != nil {
				t.Fatalf("whole file decodes, header read fails: %v", err)
			}
			if !reflect.DeepEqual(header, whole) {
				t.Fatalf("header metadata %v, whole-file metadata %v", header, whole)
			}
		}
	})
}
