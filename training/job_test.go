package training

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fovea/arch"
	"fovea/data"
)

// TestJobResumeCountsEarlierEpochs runs a one-epoch job, then resumes it for a second epoch: the
// resumed run's metrics cover both epochs, its wall time included.
func TestJobResumeCountsEarlierEpochs(t *testing.T) {
	root := os.Getenv(data.EnvRoot)
	if root == "" {
		t.Skip("FOVEA_DATA is not set: this test needs the real Fashion-MNIST files (e.g. FOVEA_DATA=$PWD/../shared/data)")
	}
	if _, _, err := data.LoadFashionMNIST(root); err != nil {
		t.Skipf("Fashion-MNIST not readable under %s: %v", root, err)
	}
	recipe := Recipes()["book"]
	recipe.Epochs = 1
	opts := JobOptions{Model: arch.FashionFCN{}, Recipe: recipe, Seed: 1, DataDir: root, OutDir: t.TempDir(),
		Subset: 600, Offline: true, Log: io.Discard}
	first, err := RunFashionJob(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Recipe.Epochs, opts.Resume = 2, true
	began := time.Now()
	second, err := RunFashionJob(context.Background(), opts)
	resumed := time.Since(began).Seconds()
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHistoryJSON(filepath.Join(opts.OutDir, "history.json"))
	if err != nil {
		t.Fatal(err)
	}
	if second.Epochs != 2 || len(h.Epochs) != 2 {
		t.Fatalf("resumed job: %d epochs in metrics, %d in history, want 2", second.Epochs, len(h.Epochs))
	}
	// The resumed process alone took `resumed` seconds; the run's wall time adds the first epoch.
	if second.WallSeconds <= resumed || second.WallSeconds < h.Epochs[0].Seconds+h.Epochs[1].Seconds {
		t.Errorf("resumed job's wall time %.3f s: the resumed process took %.3f s, the epochs %.3f + %.3f s",
			second.WallSeconds, resumed, h.Epochs[0].Seconds, h.Epochs[1].Seconds)
	}
	t.Logf("first run %.2f s, resumed run's total %.2f s", first.WallSeconds, second.WallSeconds)
}
