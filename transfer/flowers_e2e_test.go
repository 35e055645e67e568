package transfer

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fovea/arch"
	"fovea/data"
	"fovea/training"
	"fovea/transfer/keras"
)

// debianPython is Debian's Python with python3-h5py, which writes the synthetic Keras file.
const debianPython = "/usr/bin/python3"

// randomXceptionH5 is the script that writes Keras' Xception without top, with random weights, in the
// Keras HDF5 weight layout; it lives with transfer/keras's test files, beside the layer table it reuses.
const randomXceptionH5 = "keras/testdata/xception_random_h5.py"

// TestFlowersXceptionEndToEnd runs the whole transfer path on Xception: a Keras-layout .h5 of random
// weights → transfer/keras conversion to safetensors → RunFlowers with the book's recipe on 10 real
// tf_flowers photos (2 per class) at 71×71, the smallest input Keras' Xception accepts, for one frozen
// and one fine-tuning epoch. It checks that the job finishes and writes metrics.json with both
// phases; that the frozen phase trains the head alone (its trainable parameter count is the head's,
// 2048·5 + 5, its checkpoint has optimiser state for the head only, and every backbone tensor in it is
// still the converted file's, bit for bit, moving statistics included); and that fine-tuning trains
// all of Xception's 20,806,952 trainable parameters plus the head, and changes the backbone.
func TestFlowersXceptionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("writes an 83 MB Xception weight file and trains Xception for two epochs")
	}
	root := os.Getenv("FOVEA_DATA")
	if root == "" {
		t.Skip("$FOVEA_DATA is not set; skipping the end-to-end tf_flowers run (from the repository root: FOVEA_DATA=$PWD/../shared/data)")
	}
	if _, err := os.Stat(filepath.Join(root, data.FlowersFolder)); err != nil {
		t.Skipf("no tf_flowers photos under $FOVEA_DATA: %v", err)
	}
	if out, err := exec.Command(debianPython, "-c", "import h5py, numpy").CombinedOutput(); err != nil {
		t.Skipf("Debian's python3-h5py is not installed (%s -c 'import h5py': %v: %s)", debianPython, err, strings.TrimSpace(string(out)))
	}
	start := time.Now()
	dir := t.TempDir()
	h5 := filepath.Join(dir, "xception.h5")
	if out, err := exec.Command(debianPython, filepath.FromSlash(randomXceptionH5), h5, "3").CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", randomXceptionH5, err, out)
	}
	const size = 71
	weights := filepath.Join(dir, "xception.safetensors")
	if _, err := keras.ConvertFile(h5, weights, arch.Xception{Height: size, Width: size}); err != nil {
		t.Fatal(err)
	}
	converted, _, err := training.LoadCheckpoint(weights)
	if err != nil {
		t.Fatal(err)
	}
	prepared := time.Since(start)

	frozen, fine := FlowersRecipe("xception")
	frozen.Epochs, fine.Epochs = 1, 1
	out := filepath.Join(dir, "run")
	var log bytes.Buffer
	t0 := time.Now()
	m, err := RunFlowers(context.Background(), FlowersOptions{
		Backbone: "xception", Weights: weights, Frozen: frozen, Fine: fine, BatchSize: 8, Dropout: 0.2,
		Size: size, Seed: 7, PerClass: 2, DataDir: root, OutDir: out, Offline: true, Log: &log, Command: t.Name(),
	})
	if err != nil {
		t.Fatalf("RunFlowers: %v\nlog:\n%s", err, log.String())
	}
	runTime := time.Since(t0)

	var written FlowersMetrics
	raw, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &written); err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	if written.Weights != weights || written.Model != "xception" {
		t.Errorf("metrics.json: model %q, weights %q; want xception, %s", written.Model, written.Weights, weights)
	}
	// 10 photos: round(10% of 10) = 1 test photo, round(25% of 10) = 2 (ties to even) test and validation.
	if got := [3]int{written.TrainImages, written.ValImages, written.TestImages}; got != [3]int{8, 1, 1} {
		t.Errorf("train, validation, test photos %v, want [8 1 1] (10 photos split 75/15/10)", got)
	}
	const head = 2048*5 + 5            // head/dense: kernel 2048×5 and bias 5
	const xceptionTrainable = 20806952 // Keras: 20,861,480 parameters, 54,528 non-trainable
	phases := []struct {
		name      string
		trainable int
	}{{"frozen", head}, {"finetune", xceptionTrainable + head}}
	if len(written.Phases) != len(phases) {
		t.Fatalf("metrics.json has %d phases, want %d: %+v", len(written.Phases), len(phases), written.Phases)
	}
	for i, want := range phases {
		p := written.Phases[i]
		if p.Name != want.name || p.Epochs != 1 || p.Trainable != want.trainable {
			t.Errorf("phase %d: %s, %d epochs, %d trainable parameters; want %s, 1 epoch, %d", i, p.Name, p.Epochs, p.Trainable, want.name, want.trainable)
		}
		if !(p.TestAccuracy >= 0 && p.TestAccuracy <= 1) || math.IsNaN(p.TestLoss) || math.IsInf(p.TestLoss, 0) {
			t.Errorf("phase %s: test accuracy %v, loss %v", p.Name, p.TestAccuracy, p.TestLoss)
		}
		for _, f := range []string{"history.json", "history.csv", "checkpoint.safetensors"} {
			if _, err := os.Stat(filepath.Join(out, p.Name, f)); err != nil {
				t.Errorf("phase %s: %v", p.Name, err)
			}
		}
	}
	if m.TestAccuracy != written.TestAccuracy || m.Epochs != 2 {
		t.Errorf("returned metrics: test accuracy %v, %d epochs; metrics.json: %v, want 2 epochs", m.TestAccuracy, m.Epochs, written.TestAccuracy)
	}

	// The frozen phase's checkpoint: optimiser state for the head only, the backbone as converted.
	ckpt, _, err := training.LoadCheckpoint(filepath.Join(out, "frozen", "checkpoint.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]training.NamedTensor{}
	for _, nt := range ckpt {
		stored[nt.Name] = nt
		if strings.HasPrefix(nt.Name, "optimizer/") && !strings.HasPrefix(nt.Name, "optimizer/head/") {
			t.Errorf("frozen phase has optimiser state for a backbone parameter: %s", nt.Name)
		}
	}
	unchanged := 0
	for _, c := range converted {
		got, ok := stored["param/"+c.Name]
		if !ok {
			t.Errorf("frozen checkpoint lacks param/%s", c.Name)
			continue
		}
		if !slices.Equal(got.Data.([]float32), c.Data.([]float32)) {
			t.Errorf("frozen phase changed backbone tensor %s", c.Name)
			continue
		}
		unchanged++
	}

	// Fine-tuning reaches the backbone: its first and last convolutions move.
	final, _, err := training.LoadCheckpoint(filepath.Join(out, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	finalByName := map[string][]float32{}
	for _, nt := range final {
		finalByName[nt.Name] = nt.Data.([]float32)
	}
	for _, c := range converted {
		if c.Name != "block1_conv1/kernel" && c.Name != "block14_sepconv2/pointwise_kernel" {
			continue
		}
		if slices.Equal(finalByName[c.Name], c.Data.([]float32)) {
			t.Errorf("fine-tuning left %s unchanged", c.Name)
		}
	}
	t.Logf("h5 and conversion %v; RunFlowers %v (frozen %.2f s, fine-tuning %.2f s); %d backbone tensors unchanged by the frozen phase; test accuracy %.2f, %.2f",
		prepared.Round(time.Millisecond), runTime.Round(time.Millisecond), written.Phases[0].Seconds, written.Phases[1].Seconds,
		unchanged, written.Phases[0].TestAccuracy, written.Phases[1].TestAccuracy)
	t.Logf("end of the job's log:\n%s", lastLines(log.String(), 6))
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "") + "\n"
}
