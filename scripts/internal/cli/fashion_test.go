package cli

import (
	"path/filepath"
	"testing"

	"fovea/training"
)

// TestRecordedSide: -evaluate builds the network for the square input a file records; files that record
// none or a non-square one leave the choice to -input-size, and an unreadable file is an error.
func TestRecordedSide(t *testing.T) {
	dir := t.TempDir()
	weights := []training.NamedTensor{{Name: "w", DType: "F32", Shape: []int{1}, Data: []float32{1}}}
	tests := []struct {
		name    string
		meta    map[string]string // nil: no file at all
		want    int
		wantErr bool
	}{
		{"56×56", map[string]string{"input": "1x56x56"}, 56, false},
		{"28×28", map[string]string{"input": "1x28x28"}, 28, false},
		{"no input recorded", map[string]string{"format": "fovea.weights.v1"}, 0, false},
		{"not square", map[string]string{"input": "1x28x56"}, 0, false},
		{"malformed", map[string]string{"input": "56"}, 0, true},
		{"missing file", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".safetensors")
			if tt.meta != nil {
				if err := training.SaveCheckpoint(path, weights, tt.meta); err != nil {
					t.Fatal(err)
				}
			}
			got, err := recordedSide(path)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("side %d, error %v; want %d, error %t", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
