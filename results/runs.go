package results

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"fovea/training"
)

// Files of a run folder, as the training scripts write them.
const (
	MetricsFile  = "metrics.json"
	HistoryFile  = "history.json"
	AccuracyPlot = "accuracy.png"
	LossPlot     = "loss.png"
)

// Run is what one run folder holds.
type Run struct {
	// Dir is the folder; Name is its base name.
	Dir, Name string
	// Metrics is metrics.json, written when a run finishes; nil while it runs or if it stopped early.
	Metrics *training.Metrics
	// History is history.json, rewritten after every epoch; nil when absent.
	History *training.History
}

// Model is the run's model name, from metrics.json, else history.json.
func (r Run) Model() string {
	if r.Metrics != nil && r.Metrics.Model != "" {
		return r.Metrics.Model
	}
	if r.History != nil {
		return r.History.Model
	}
	return ""
}

// Recipe is the run's training recipe ("book", "better"), or "" when unrecorded.
func (r Run) Recipe() string {
	if r.Metrics != nil && r.Metrics.Recipe.Name != "" {
		return r.Metrics.Recipe.Name
	}
	if r.History != nil {
		return r.History.Params["recipe"]
	}
	return ""
}

// Finished reports whether the run wrote its metrics.json.
func (r Run) Finished() bool { return r.Metrics != nil }

// ReadRun reads the run folder dir. It fails when dir holds neither metrics.json nor history.json, or
// when one of them cannot be read or parsed.
func ReadRun(dir string) (Run, error) {
	r := Run{Dir: dir, Name: filepath.Base(filepath.Clean(dir))}
	var m training.Metrics
	switch err := readJSON(filepath.Join(dir, MetricsFile), &m); {
	case err == nil:
		r.Metrics = &m
	case !errors.Is(err, fs.ErrNotExist):
		return r, err
	}
	h, err := training.ReadHistoryJSON(filepath.Join(dir, HistoryFile))
	switch {
	case err == nil:
		r.History = h
	case !errors.Is(err, fs.ErrNotExist):
		return r, err
	}
	if r.Metrics == nil && r.History == nil {
		return r, fmt.Errorf("run %s: neither %s nor %s: %w", dir, MetricsFile, HistoryFile, fs.ErrNotExist)
	}
	if r.Model() == "" {
		return r, fmt.Errorf("run %s: no model name in %s or %s", dir, MetricsFile, HistoryFile)
	}
	return r, nil
}

// ReadRuns reads the run folders in root: root itself when it is a run folder, else each of its
// subfolders that holds metrics.json or history.json, in name order. Folders that cannot be read are
// returned as problems, the rest as runs.
func ReadRuns(root string) (runs []Run, problems []error, err error) {
	if isRunDir(root) {
		r, err := ReadRun(root)
		if err != nil {
			return nil, []error{err}, nil
		}
		return []Run{r}, nil, nil
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, nil, fmt.Errorf("read runs: %w", err)
	}
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() || !isRunDir(dir) {
			continue
		}
		r, err := ReadRun(dir)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		runs = append(runs, r)
	}
	return runs, problems, nil
}

// isRunDir reports whether dir holds metrics.json or history.json.
func isRunDir(dir string) bool {
	for _, f := range []string{MetricsFile, HistoryFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// sortRuns orders the runs of one study result: the book's recipe first, then by folder name.
func sortRuns(runs []Run) {
	slices.SortStableFunc(runs, func(a, b Run) int {
		ab, bb := a.Recipe() != "book", b.Recipe() != "book"
		if ab != bb {
			if !ab {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Name, b.Name)
	})
}
