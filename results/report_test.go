package results

import (
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fovea/training"
)

// writeRun writes a synthetic run folder: history.json with the given validation accuracies (one epoch
// each) when epochs is non-empty, and metrics.json when m is non-nil.
func writeRun(t *testing.T, dir, model, recipe string, epochs []float64, m *training.Metrics) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if len(epochs) > 0 {
		h := &training.History{Model: model, Dataset: "fashion-mnist", Params: map[string]string{"recipe": recipe, "command": "go run ./scripts/x"}}
		for i, acc := range epochs {
			h.Epochs = append(h.Epochs, training.EpochRecord{Epoch: i + 1, TrainLoss: 1 / float64(i+2), TrainAccuracy: acc - 0.01,
				ValLoss: 1 / float64(i+3), ValAccuracy: acc, LearningRate: 1e-3, Seconds: 10, ImagesPerSec: 100})
		}
		if err := h.WriteJSON(filepath.Join(dir, HistoryFile)); err != nil {
			t.Fatal(err)
		}
	}
	if m != nil {
		m.Model, m.Recipe.Name = model, recipe
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, MetricsFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReportFromRunFolders(t *testing.T) {
	runs := t.TempDir()
	// A finished CNN run, an unfinished fully connected one, no ResNet-34 and no transfer-learning run.
	writeRun(t, filepath.Join(runs, "fashion-cnn-book"), "fashion-cnn", "book", []float64{0.85, 0.89},
		&training.Metrics{TestAccuracy: 0.9123, TestAccuracyMirrorTTA: 0.9171, Epochs: 2, WallSeconds: 271.4, Device: "cpu", TestLoss: 0.3})
	writeRun(t, filepath.Join(runs, "fashion-fcn-book"), "fashion-fcn", "book", []float64{0.86}, nil)
	// Neither a run folder nor a problem: ignored.
	if err := os.MkdirAll(filepath.Join(runs, "scratch"), 0o755); err != nil {
		t.Fatal(err)
	}
	found, problems, err := ReadRuns(runs)
	if err != nil || len(problems) > 0 {
		t.Fatalf("ReadRuns: %v, problems %v", err, problems)
	}
	rep := New(found, problems)
	want := [][]string{
		{"CNN", "Fashion-MNIST", "90%", "91.23%", "2", "4 min 31 s", "cpu", "fashion-cnn-book (recipe book)"},
		{"fully connected net", "Fashion-MNIST", "87%", "not finished", "1 so far", "—", "—", "fashion-fcn-book (recipe book)"},
		{"ResNet-34", "Fashion-MNIST", "88%", "not run", "—", "—", "—", "—"},
		{"Xception, transfer learning", "tf_flowers", "93.06%", "not run", "—", "—", "—", "—"},
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rep.Rows), len(want))
	}
	for i, r := range rep.Rows {
		if got := r.Cells(); !slices.Equal(got, want[i]) {
			t.Errorf("row %d:\n got %q\nwant %q", i+1, got, want[i])
		}
	}

	out := filepath.Join(t.TempDir(), "report")
	if err := rep.Write(out, Options{RunsDir: runs}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	text := string(page)
	for _, s := range []string{
		"| CNN | Fashion-MNIST | 90% | 91.23% | 2 | 4 min 31 s | cpu | fashion-cnn-book (recipe book) |",
		"| ResNet-34 | Fashion-MNIST | 88% | not run | — | — | — | — |",
		"## Figure 3: CNN",
		"## Figure 4: CNN against the fully connected net",
		"## Figure 6: ResNet-34 on Fashion-MNIST, learning curves\n\nNot run",
		"## Figures 7–8: Xception",
		"![fashion-cnn-book: accuracy](figures/fashion-cnn-book/accuracy.png)",
		"![CNN vs fully connected net: accuracy](figures/cnn-vs-fcn-accuracy.png)",
		"Not drawn: no photo was given",
		"; test accuracy with mirror test-time augmentation 0.9171",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("page lacks %q", s)
		}
	}
	// Figures appear in the study's order: 3 (CNN), 4 (comparison), 5 (FCN), 6, 7–8.
	if i3, i4, i5 := strings.Index(text, "## Figure 3"), strings.Index(text, "## Figure 4"), strings.Index(text, "## Figure 5"); !(i3 < i4 && i4 < i5) {
		t.Errorf("figure sections out of order: 3 at %d, 4 at %d, 5 at %d", i3, i4, i5)
	}
	for _, f := range []string{
		"fashion-cnn-book/accuracy.png", "fashion-cnn-book/loss.png", "fashion-fcn-book/accuracy.png",
		"cnn-vs-fcn-accuracy.png", "cnn-vs-fcn-loss.png",
	} {
		if st, err := os.Stat(filepath.Join(out, FiguresDir, f)); err != nil || st.Size() == 0 {
			t.Errorf("figure %s: %v", f, err)
		}
	}
}

func TestSeveralRunsOfOneModel(t *testing.T) {
	runs := t.TempDir()
	writeRun(t, filepath.Join(runs, "a-better"), "fashion-cnn", "better", nil, &training.Metrics{TestAccuracy: 0.93, Epochs: 10})
	writeRun(t, filepath.Join(runs, "b-book"), "fashion-cnn", "book", nil, &training.Metrics{TestAccuracy: 0.91, Epochs: 10})
	writeRun(t, filepath.Join(runs, "flowers"), "squeezenet", "", nil, &training.Metrics{TestAccuracy: 0.8, Epochs: 5, WallSeconds: 7300})
	writeRun(t, filepath.Join(runs, "lenet"), "lenet5", "", nil, &training.Metrics{TestAccuracy: 0.9, Epochs: 1})
	// A PNG to copy for a run without history.json.
	if err := os.WriteFile(filepath.Join(runs, "b-book", AccuracyPlot), []byte("png"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(runs, "broken"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runs, "broken", MetricsFile), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	found, problems, err := ReadRuns(runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), filepath.Join("broken", MetricsFile)) {
		t.Fatalf("problems %v, want one naming broken/metrics.json", problems)
	}
	rep := New(found, problems)
	var got [][]string
	for _, r := range rep.Rows {
		c := r.Cells()
		got = append(got, []string{c[0], c[3], c[5], c[7]})
	}
	want := [][]string{
		{"CNN", "91.00%", "0 s", "b-book (recipe book)"}, // the book's recipe first
		{"CNN", "93.00%", "0 s", "a-better (recipe better)"},
		{"fully connected net", "not run", "—", "—"},
		{"ResNet-34", "not run", "—", "—"},
		{"Xception, transfer learning", "80.00%", "2 h 01 min", "flowers (model squeezenet)"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("rows\n got %q\nwant %q", got, want)
	}
	if len(rep.Other) != 1 || rep.Other[0].Model() != "lenet5" {
		t.Fatalf("other runs %v, want lenet5", rep.Other)
	}
	out := t.TempDir()
	if err := rep.Write(out, Options{}); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(filepath.Join(out, FiguresDir, "b-book", AccuracyPlot)); err != nil || string(data) != "png" {
		t.Fatalf("copied accuracy.png: %q, %v", data, err)
	}
	page, err := os.ReadFile(filepath.Join(out, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"broken", "| lenet5 | 90.00% |", "Figure 4: CNN against the fully connected net\n\nNot drawn"} {
		if !strings.Contains(string(page), s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

func TestMatchStudy(t *testing.T) {
	study := Study()
	cases := []struct {
		model string
		want  string // study key, "" for none
	}{
		{"fashion-cnn", "cnn"},
		{"Fashion_CNN", "cnn"},
		{"fashion-fcn", "fcn"},
		{"resnet34", "resnet34"},
		{"fashion-resnet-34", "resnet34"},
		{"xception", "transfer"},
		{"flowers-squeezenet", "transfer"},
		{"lenet5", ""},
		{"", ""},
	}
	for _, tc := range cases {
		i := matchStudy(study, tc.model)
		got := ""
		if i >= 0 {
			got = study[i].Key
		}
		if got != tc.want {
			t.Errorf("matchStudy(%q) = %q, want %q", tc.model, got, tc.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	cases := []struct{ got, want string }{
		{percent(0.9306, false), "93.06%"},
		{percent(0.90, false), "90%"},
		{percent(0.8839, true), "88.39%"},
		{percent(math.NaN(), true), "—"},
		{duration(35.47), "35 s"},
		{duration(59.6), "1 min 00 s"},
		{duration(3725), "1 h 02 min"},
		{duration(math.NaN()), "—"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestReadRunErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadRun(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty folder: error %v, want not-exist", err)
	}
	if _, _, err := ReadRuns(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing runs folder: no error")
	}
	// A run folder given directly is read as the only run.
	writeRun(t, dir, "fashion-fcn", "book", []float64{0.8}, nil)
	runs, problems, err := ReadRuns(dir)
	if err != nil || len(problems) > 0 || len(runs) != 1 || runs[0].Model() != "fashion-fcn" {
		t.Fatalf("ReadRuns(run folder) = %v, %v, %v", runs, problems, err)
	}
}

func TestReportDemos(t *testing.T) {
	dir := t.TempDir()
	photo := filepath.Join(dir, "photo.png")
	img := image.NewRGBA(image.Rect(0, 0, 24, 16))
	for y := range 16 {
		for x := range 24 {
			img.Set(x, y, color.RGBA{uint8(10 * x), uint8(15 * y), 90, 255})
		}
	}
	f, err := os.Create(photo)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report")
	if err := New(nil, nil).Write(out, Options{Photo: photo}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"conv.png", "pool.png"} {
		if st, err := os.Stat(filepath.Join(out, FiguresDir, f)); err != nil || st.Size() == 0 {
			t.Errorf("figure %s: %v", f, err)
		}
	}
	page, err := os.ReadFile(filepath.Join(out, PageFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"![Figure 1: convolution](figures/conv.png)", "![Figure 2: pooling](figures/pool.png)", "| CNN | Fashion-MNIST | 90% | not run |"} {
		if !strings.Contains(string(page), s) {
			t.Errorf("page lacks %q", s)
		}
	}
	if err := New(nil, nil).Write(filepath.Join(dir, "bad"), Options{Photo: filepath.Join(dir, "missing.jpg")}); err == nil || !strings.Contains(err.Error(), "missing.jpg") {
		t.Fatalf("missing photo: error %v, want one naming it", err)
	}
}
