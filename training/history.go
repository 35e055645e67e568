package training

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"
)

// EpochRecord holds the metrics of one training epoch.
//
// A metric that was not measured (for example validation metrics when there
// is no validation set) is NaN. Non-finite values (NaN, ±Inf) are written as
// JSON null and as an empty CSV field, and JSON null reads back as NaN.
type EpochRecord struct {
	Epoch         int     `json:"epoch"`
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	ValLoss       float64 `json:"val_loss"`
	ValAccuracy   float64 `json:"val_accuracy"`
	LearningRate  float64 `json:"learning_rate"`
	Seconds       float64 `json:"seconds"`
	ImagesPerSec  float64 `json:"images_per_sec"`
}

// History is the record of a training run: what was trained and one
// EpochRecord per finished epoch, in order.
type History struct {
	// Model names the trained network, e.g. "cnn" or "squeezenet".
	Model string `json:"model"`
	// Dataset names the training data, e.g. "mnist".
	Dataset string `json:"dataset,omitempty"`
	// Optimizer describes the optimizer, e.g. "adam".
	Optimizer string `json:"optimizer,omitempty"`
	// BatchSize is the number of images per training step.
	BatchSize int `json:"batch_size,omitempty"`
	// Seed is the random seed of the run.
	Seed int64 `json:"seed,omitempty"`
	// Params holds any further settings worth keeping (hyperparameters,
	// command-line flags, versions).
	Params map[string]string `json:"params,omitempty"`
	// Started and Finished are wall-clock times of the run.
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// Epochs holds one record per finished epoch.
	Epochs []EpochRecord `json:"epochs"`
}

// epochRecordJSON mirrors EpochRecord with floats that encode non-finite
// values as null, which encoding/json would otherwise refuse.
type epochRecordJSON struct {
	Epoch         int       `json:"epoch"`
	TrainLoss     jsonFloat `json:"train_loss"`
	TrainAccuracy jsonFloat `json:"train_accuracy"`
	ValLoss       jsonFloat `json:"val_loss"`
	ValAccuracy   jsonFloat `json:"val_accuracy"`
	LearningRate  jsonFloat `json:"learning_rate"`
	Seconds       jsonFloat `json:"seconds"`
	ImagesPerSec  jsonFloat `json:"images_per_sec"`
}

// MarshalJSON encodes r, writing NaN and ±Inf as null.
func (r EpochRecord) MarshalJSON() ([]byte, error) {
	return json.Marshal(epochRecordJSON{
		Epoch:         r.Epoch,
		TrainLoss:     jsonFloat(r.TrainLoss),
		TrainAccuracy: jsonFloat(r.TrainAccuracy),
		ValLoss:       jsonFloat(r.ValLoss),
		ValAccuracy:   jsonFloat(r.ValAccuracy),
		LearningRate:  jsonFloat(r.LearningRate),
		Seconds:       jsonFloat(r.Seconds),
		ImagesPerSec:  jsonFloat(r.ImagesPerSec),
	})
}

// UnmarshalJSON decodes r; null and missing metrics become NaN.
func (r *EpochRecord) UnmarshalJSON(data []byte) error {
	nan := jsonFloat(math.NaN())
	v := epochRecordJSON{
		TrainLoss: nan, TrainAccuracy: nan, ValLoss: nan, ValAccuracy: nan,
		LearningRate: nan, Seconds: nan, ImagesPerSec: nan,
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*r = EpochRecord{
		Epoch:         v.Epoch,
		TrainLoss:     float64(v.TrainLoss),
		TrainAccuracy: float64(v.TrainAccuracy),
		ValLoss:       float64(v.ValLoss),
		ValAccuracy:   float64(v.ValAccuracy),
		LearningRate:  float64(v.LearningRate),
		Seconds:       float64(v.Seconds),
		ImagesPerSec:  float64(v.ImagesPerSec),
	}
	return nil
}

// jsonFloat is a float64 whose JSON form is null when it is not finite.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	var v float64
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

// WriteJSON writes h as indented JSON to path, atomically: readers see
// either the previous file or the complete new one.
func (h *History) WriteJSON(path string) error {
	if h == nil {
		return fmt.Errorf("write history %s: nil history", path)
	}
	out := *h
	if out.Epochs == nil {
		out.Epochs = []EpochRecord{} // "epochs": [] rather than null
	}
	data, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return fmt.Errorf("write history %s: %w", path, err)
	}
	data = append(data, '\n')
	return writeFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// historyCSVHeader returns the header row written by WriteCSV; the column
// names match the JSON field names of EpochRecord.
func historyCSVHeader() []string {
	return []string{
		"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
		"learning_rate", "seconds", "images_per_sec",
	}
}

// WriteCSV writes the epoch records of h to path as CSV with a header row,
// one row per epoch, atomically. Non-finite values are written as empty
// fields (read as missing by pandas, R and spreadsheets).
func (h *History) WriteCSV(path string) error {
	if h == nil {
		return fmt.Errorf("write history %s: nil history", path)
	}
	return writeFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		header := historyCSVHeader()
		if err := cw.Write(header); err != nil {
			return err
		}
		row := make([]string, len(header))
		for _, r := range h.Epochs {
			row[0] = strconv.Itoa(r.Epoch)
			for i, v := range [...]float64{
				r.TrainLoss, r.TrainAccuracy, r.ValLoss, r.ValAccuracy,
				r.LearningRate, r.Seconds, r.ImagesPerSec,
			} {
				row[i+1] = csvFloat(v)
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

func csvFloat(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// ReadHistoryJSON reads a history written by WriteJSON.
func ReadHistoryJSON(path string) (*History, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	var h History
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, fmt.Errorf("read history %s: %w", path, err)
	}
	return &h, nil
}
