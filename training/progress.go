package training

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Progress reports training progress.
//
// When its writer is a terminal it shows, during each epoch, a live bar
// over the batches with "epoch i/n", images per second, the time left and
// the running loss and accuracy (drawn with mpb). Otherwise it is silent
// during the epoch. Either way EndEpoch prints one plain summary line:
//
//	epoch 3/10  loss 0.3124 acc 0.8851  val_loss 0.3011 val_acc 0.8893  41.2s  1335 img/s
//
// A Progress is meant to be driven by one goroutine (the training loop):
// StartEpoch, Batch for every step, EndEpoch, and Close at the end.
type Progress struct {
	w           io.Writer
	totalEpochs int
	terminal    bool

	epoch   int
	batches int
	started time.Time
	running bool

	// mu guards stats, which the bar's decorators read from mpb's
	// goroutines while Batch updates them.
	mu    sync.Mutex
	stats epochStats

	// Terminal only: one mpb container and bar per epoch.
	container *mpb.Progress
	bar       *mpb.Bar
}

// epochStats accumulates the batches of the current epoch.
type epochStats struct {
	images  int64
	weight  float64 // images (or batches, for batches of size 0) seen
	lossSum float64 // loss weighted by batch size
	accSum  float64 // accuracy weighted by batch size
}

// NewProgress returns a reporter writing to w (typically os.Stderr) for a
// run of totalEpochs epochs (0 if unknown). Live bars are used only if w is
// an *os.File that is a terminal.
func NewProgress(w io.Writer, totalEpochs int) *Progress {
	if w == nil {
		w = io.Discard
	}
	return &Progress{w: w, totalEpochs: totalEpochs, terminal: isTerminal(w)}
}

// StartEpoch starts the report of an epoch of the given number of batches
// (0 or less if unknown). An epoch still running is abandoned first.
func (p *Progress) StartEpoch(epoch, batches int) {
	if p.running {
		p.stopBar(true)
	}
	p.epoch, p.batches = epoch, batches
	p.mu.Lock()
	p.stats = epochStats{}
	p.mu.Unlock()
	p.started = time.Now()
	p.running = true
	if p.terminal {
		p.startBar()
	}
}

// Batch records one finished training step of images images with its
// batch loss and accuracy. It does not allocate when the writer is not a
// terminal.
func (p *Progress) Batch(images int, loss, acc float64) {
	w := float64(images)
	if images <= 0 {
		w = 1
	}
	p.mu.Lock()
	if images > 0 {
		p.stats.images += int64(images)
	}
	p.stats.weight += w
	p.stats.lossSum += w * loss
	p.stats.accSum += w * acc
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.Increment()
	}
}

// EndEpoch finishes the epoch and prints its summary line. Zero Epoch,
// Seconds and ImagesPerSec fields of rec are filled in from what Progress
// measured since StartEpoch; the completed record is returned. NaN
// validation metrics (no validation data) are left out of the line.
func (p *Progress) EndEpoch(rec EpochRecord) EpochRecord {
	elapsed := time.Since(p.started).Seconds()
	p.mu.Lock()
	images := p.stats.images
	p.mu.Unlock()
	if rec.Epoch == 0 {
		rec.Epoch = p.epoch
	}
	if rec.Seconds == 0 && p.running {
		rec.Seconds = elapsed
	}
	if rec.ImagesPerSec == 0 && rec.Seconds > 0 {
		rec.ImagesPerSec = float64(images) / rec.Seconds
	}
	if p.running {
		p.stopBar(false)
		p.running = false
	}
	_, _ = io.WriteString(p.w, p.summaryLine(rec))
	return rec
}

// Printf prints a line of text (a newline is added if missing) without
// disturbing a live bar: on a terminal the text appears above it.
func (p *Progress) Printf(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	if p.container != nil {
		if _, err := io.WriteString(p.container, s); err == nil {
			return
		}
	}
	_, _ = io.WriteString(p.w, s)
}

// Close removes a bar left by an epoch that did not end. It is safe to
// call more than once.
func (p *Progress) Close() {
	if p.running {
		p.stopBar(true)
		p.running = false
	}
}

// summaryLine formats the one-line report of an epoch.
func (p *Progress) summaryLine(rec EpochRecord) string {
	var b strings.Builder
	if p.totalEpochs > 0 {
		fmt.Fprintf(&b, "epoch %d/%d", rec.Epoch, p.totalEpochs)
	} else {
		fmt.Fprintf(&b, "epoch %d", rec.Epoch)
	}
	fmt.Fprintf(&b, "  loss %.4f acc %.4f", rec.TrainLoss, rec.TrainAccuracy)
	if !math.IsNaN(rec.ValLoss) || !math.IsNaN(rec.ValAccuracy) {
		fmt.Fprintf(&b, "  val_loss %.4f val_acc %.4f", rec.ValLoss, rec.ValAccuracy)
	}
	fmt.Fprintf(&b, "  %.1fs  %.0f img/s", rec.Seconds, rec.ImagesPerSec)
	if rec.LearningRate > 0 && !math.IsInf(rec.LearningRate, 0) {
		fmt.Fprintf(&b, "  lr %.3g", rec.LearningRate)
	}
	b.WriteByte('\n')
	return b.String()
}

// snapshot returns the images seen and the running mean loss and accuracy.
func (p *Progress) snapshot() (images int64, loss, acc float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	if s.weight == 0 {
		return s.images, math.NaN(), math.NaN()
	}
	return s.images, s.lossSum / s.weight, s.accSum / s.weight
}

// startBar creates the live bar of the current epoch (terminal only).
func (p *Progress) startBar() {
	label := fmt.Sprintf("epoch %d", p.epoch)
	if p.totalEpochs > 0 {
		label = fmt.Sprintf("epoch %d/%d", p.epoch, p.totalEpochs)
	}
	started := p.started
	p.container = mpb.New(mpb.WithOutput(p.w), mpb.WithRefreshRate(150*time.Millisecond))
	p.bar = p.container.AddBar(int64(max(p.batches, 0)),
		mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(
			decor.Name(label, decor.WCSyncSpaceR),
			decor.CountersNoUnit("%d/%d", decor.WCSyncSpaceR),
		),
		mpb.AppendDecorators(
			decor.Any(func(decor.Statistics) string {
				images, _, _ := p.snapshot()
				secs := time.Since(started).Seconds()
				if images == 0 || secs < 0.1 { // too early for a meaningful rate
					return "    - img/s"
				}
				return fmt.Sprintf("%5.0f img/s", float64(images)/secs)
			}, decor.WCSyncSpace),
			decor.Name(" ETA "),
			decor.AverageETA(decor.ET_STYLE_MMSS),
			decor.Any(func(decor.Statistics) string {
				_, loss, acc := p.snapshot()
				return fmt.Sprintf("  loss %.4f acc %.4f", loss, acc)
			}),
		),
	)
}

// stopBar ends the live bar, if any, and waits until it is off the
// screen: completed normally, or dropped when abort is true.
func (p *Progress) stopBar(abort bool) {
	if p.bar == nil {
		return
	}
	if abort {
		p.bar.Abort(true)
	} else {
		p.bar.SetTotal(-1, true)
	}
	p.container.Wait()
	p.bar, p.container = nil, nil
}
