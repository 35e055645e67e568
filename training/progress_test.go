package training

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func TestProgressSummaryLine(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		total int
		rec   EpochRecord
		want  string
	}{
		{
			name:  "full",
			total: 10,
			rec:   EpochRecord{Epoch: 3, TrainLoss: 0.31244, TrainAccuracy: 0.88512, ValLoss: 0.3011, ValAccuracy: 0.8893, Seconds: 41.23, ImagesPerSec: 1335.4},
			want:  "epoch 3/10  loss 0.3124 acc 0.8851  val_loss 0.3011 val_acc 0.8893  41.2s  1335 img/s\n",
		},
		{
			name:  "no validation, learning rate",
			total: 10,
			rec:   EpochRecord{Epoch: 1, TrainLoss: 1, TrainAccuracy: 0.5, ValLoss: nan, ValAccuracy: nan, LearningRate: 0.001, Seconds: 2, ImagesPerSec: 30000},
			want:  "epoch 1/10  loss 1.0000 acc 0.5000  2.0s  30000 img/s  lr 0.001\n",
		},
		{
			name:  "unknown total",
			total: 0,
			rec:   EpochRecord{Epoch: 7, TrainLoss: nan, TrainAccuracy: 0.1, ValLoss: 2, ValAccuracy: 0.2, Seconds: 1, ImagesPerSec: 10},
			want:  "epoch 7  loss NaN acc 0.1000  val_loss 2.0000 val_acc 0.2000  1.0s  10 img/s\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := NewProgress(&buf, tt.total)
			p.StartEpoch(tt.rec.Epoch, 5)
			p.Batch(10, 1, 0.5)
			got := p.EndEpoch(tt.rec)
			p.Close()
			if buf.String() != tt.want {
				t.Errorf("line\n%q\nwant\n%q", buf.String(), tt.want)
			}
			if got.Seconds != tt.rec.Seconds || got.ImagesPerSec != tt.rec.ImagesPerSec {
				t.Errorf("given timings changed: %+v", got)
			}
		})
	}
}

func TestProgressNonTerminalOneLinePerEpoch(t *testing.T) {
	var buf bytes.Buffer
	const epochs, batches = 4, 50
	p := NewProgress(&buf, epochs)
	if p.terminal {
		t.Fatal("bytes.Buffer taken for a terminal")
	}
	var recs []EpochRecord
	for e := 1; e <= epochs; e++ {
		p.StartEpoch(e, batches)
		for range batches {
			p.Batch(32, 0.5, 0.75)
			if strings.Count(buf.String(), "\n") != e-1 {
				t.Fatalf("output during epoch %d: %q", e, buf.String())
			}
		}
		// Leave Epoch, Seconds and ImagesPerSec for Progress to fill in.
		recs = append(recs, p.EndEpoch(EpochRecord{TrainLoss: 0.5, TrainAccuracy: 0.75, ValLoss: 0.4, ValAccuracy: 0.8}))
	}
	p.Close()
	p.Close()

	out := buf.String()
	if strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("control characters in output %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != epochs {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), epochs, out)
	}
	re := regexp.MustCompile(`^epoch (\d)/4  loss 0\.5000 acc 0\.7500  val_loss 0\.4000 val_acc 0\.8000  \d+\.\ds  \d+ img/s$`)
	for i, line := range lines {
		m := re.FindStringSubmatch(line)
		if m == nil || m[1] != string(rune('1'+i)) {
			t.Errorf("line %d: %q", i, line)
		}
	}
	for i, r := range recs {
		if r.Epoch != i+1 || r.Seconds <= 0 {
			t.Errorf("record %d not filled in: %+v", i, r)
		}
		if want := batches * 32 / r.Seconds; math.Abs(r.ImagesPerSec-want) > 1e-6*want {
			t.Errorf("record %d: %v img/s, want %v", i, r.ImagesPerSec, want)
		}
	}
}

func TestProgressRunningMeans(t *testing.T) {
	p := NewProgress(&bytes.Buffer{}, 1)
	p.StartEpoch(1, 3)
	if _, loss, _ := p.snapshot(); !math.IsNaN(loss) {
		t.Errorf("loss before any batch %v, want NaN", loss)
	}
	p.Batch(30, 1, 0)
	p.Batch(10, 3, 1)
	images, loss, acc := p.snapshot()
	if images != 40 || loss != 1.5 || acc != 0.25 {
		t.Errorf("got %d images, loss %v, acc %v; want 40, 1.5, 0.25", images, loss, acc)
	}
	p.StartEpoch(2, 3) // abandons epoch 1 and resets
	if images, _, _ := p.snapshot(); images != 0 {
		t.Errorf("stats not reset: %d images", images)
	}
	p.Close()
}

func TestProgressBatchDoesNotAllocate(t *testing.T) {
	p := NewProgress(&bytes.Buffer{}, 1)
	p.StartEpoch(1, 1000)
	if allocs := testing.AllocsPerRun(1000, func() { p.Batch(32, 0.25, 0.9) }); allocs != 0 {
		t.Errorf("Batch allocates %v times per call", allocs)
	}
	p.Close()
}

func TestProgressPrintfAndNilWriter(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 2)
	p.StartEpoch(1, 2)
	p.Printf("saved %s", "ckpt")
	p.Printf("done\n")
	p.Close()
	if got := buf.String(); got != "saved ckpt\ndone\n" {
		t.Errorf("got %q", got)
	}

	q := NewProgress(nil, 1) // must not panic
	q.StartEpoch(1, 1)
	q.Batch(1, 0, 0)
	q.EndEpoch(EpochRecord{})
	q.Close()
}

func TestIsTerminalFalseForNonTerminals(t *testing.T) {
	regular, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	var nilFile *os.File
	tests := []struct {
		name string
		w    interface{ Write([]byte) (int, error) }
	}{
		{"buffer", &bytes.Buffer{}},
		{"regular file", regular},
		{"nil file", nilFile},
	}
	if isTerminal(devNull) && runtime.GOOS == "linux" {
		t.Errorf("%s taken for a terminal", os.DevNull)
	}
	for _, tt := range tests {
		if isTerminal(tt.w) {
			t.Errorf("%s taken for a terminal", tt.name)
		}
	}
}
