package training

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleHistory() *History {
	nan := math.NaN()
	return &History{
		Model:     "cnn",
		Dataset:   "mnist",
		Optimizer: "adam",
		BatchSize: 32,
		Seed:      42,
		Params:    map[string]string{"lr": "0.001"},
		Started:   time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Finished:  time.Date(2025, 1, 2, 3, 14, 5, 0, time.UTC),
		Epochs: []EpochRecord{
			{Epoch: 1, TrainLoss: 0.5, TrainAccuracy: 0.8, ValLoss: 0.4, ValAccuracy: 0.85, LearningRate: 1e-3, Seconds: 41.25, ImagesPerSec: 1335.5},
			{Epoch: 2, TrainLoss: 0.3124, TrainAccuracy: 0.8851, ValLoss: nan, ValAccuracy: nan, LearningRate: 5e-4, Seconds: 40, ImagesPerSec: 1400},
			{Epoch: 3, TrainLoss: math.Inf(1), TrainAccuracy: 0.1, ValLoss: 0.2, ValAccuracy: 0.9, LearningRate: 1e-4, Seconds: 39, ImagesPerSec: 1500},
		},
	}
}

// sameFloat treats every NaN as equal and ±Inf as NaN (JSON has no Inf).
func sameFloat(a, b float64) bool {
	nonFinite := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	if nonFinite(a) || nonFinite(b) {
		return nonFinite(a) && nonFinite(b)
	}
	return a == b
}

func sameRecord(a, b EpochRecord) bool {
	return a.Epoch == b.Epoch &&
		sameFloat(a.TrainLoss, b.TrainLoss) && sameFloat(a.TrainAccuracy, b.TrainAccuracy) &&
		sameFloat(a.ValLoss, b.ValLoss) && sameFloat(a.ValAccuracy, b.ValAccuracy) &&
		sameFloat(a.LearningRate, b.LearningRate) && sameFloat(a.Seconds, b.Seconds) &&
		sameFloat(a.ImagesPerSec, b.ImagesPerSec)
}

func TestHistoryJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		h    *History
	}{
		{"full", sampleHistory()},
		{"empty", &History{Model: "fcn"}},
		{"single epoch", &History{Model: "x", Epochs: sampleHistory().Epochs[:1]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "history.json")
			if err := tt.h.WriteJSON(path); err != nil {
				t.Fatal(err)
			}
			got, err := ReadHistoryJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Epochs) != len(tt.h.Epochs) {
				t.Fatalf("got %d epochs, want %d", len(got.Epochs), len(tt.h.Epochs))
			}
			for i := range got.Epochs {
				if !sameRecord(got.Epochs[i], tt.h.Epochs[i]) {
					t.Errorf("epoch %d: got %+v, want %+v", i, got.Epochs[i], tt.h.Epochs[i])
				}
			}
			wantMeta, gotMeta := *tt.h, *got
			wantMeta.Epochs, gotMeta.Epochs = nil, nil
			if !reflect.DeepEqual(gotMeta, wantMeta) {
				t.Errorf("metadata %+v, want %+v", gotMeta, wantMeta)
			}
		})
	}
}

func TestHistoryJSONFormat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.json")
	if err := sampleHistory().WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{
		`"model": "cnn"`, `"train_loss": 0.5`, `"val_accuracy": null`, `"train_loss": null`,
		`"images_per_sec": 1335.5`, `"learning_rate": 0.001`, `"started": "2025-01-02T03:04:05Z"`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("JSON lacks %s:\n%s", want, s)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := (&History{Model: "m"}).WriteJSON(empty); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(empty)
	if strings.Contains(string(raw), "started") || strings.Contains(string(raw), "params") {
		t.Errorf("zero optional fields written:\n%s", raw)
	}
}

func TestReadHistoryJSONMissingMetricsAreNaN(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.json")
	if err := os.WriteFile(path, []byte(`{"model":"m","epochs":[{"epoch":1,"train_loss":0.25}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHistoryJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	r := h.Epochs[0]
	if r.Epoch != 1 || r.TrainLoss != 0.25 || !math.IsNaN(r.ValLoss) || !math.IsNaN(r.TrainAccuracy) {
		t.Errorf("got %+v", r)
	}
}

func TestReadHistoryJSONErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
	}{
		{"garbage", "not json"},
		{"truncated", `{"model":"m","epochs":[{"epoch":1,`},
		{"wrong type", `{"model":"m","epochs":[{"epoch":1,"train_loss":"high"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadHistoryJSON(path); err == nil || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s", err, path)
			}
		})
	}
	missing := filepath.Join(dir, "missing.json")
	if _, err := ReadHistoryJSON(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("error %v, want one naming %s", err, missing)
	}
}

func TestHistoryWriteCSV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.csv")
	if err := sampleHistory().WriteCSV(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds", "images_per_sec"},
		{"1", "0.5", "0.8", "0.4", "0.85", "0.001", "41.25", "1335.5"},
		{"2", "0.3124", "0.8851", "", "", "0.0005", "40", "1400"},
		{"3", "", "0.1", "0.2", "0.9", "0.0001", "39", "1500"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("CSV rows\n%q\nwant\n%q", rows, want)
	}
}

func TestHistoryWriteErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		write func(h *History, path string) error
	}{
		{"json", (*History).WriteJSON},
		{"csv", (*History).WriteCSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			missingDir := filepath.Join(dir, "no", "such", "dir", "h."+tt.name)
			if err := tt.write(sampleHistory(), missingDir); err == nil || !strings.Contains(err.Error(), missingDir) {
				t.Errorf("error %v, want one naming %s", err, missingDir)
			}
			if err := tt.write(nil, filepath.Join(dir, "nil."+tt.name)); err == nil {
				t.Error("nil history written without error")
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file left: %s", e.Name())
				}
			}
		})
	}
}
