package training

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair with a 100x30 window, or skips the
// test where the system has none.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		t.Skipf("ptsname: %v", err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Skipf("open pts: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100}); err != nil {
		t.Logf("set window size: %v", err)
	}
	return master, slave
}

func TestProgressTerminalShowsBarAndSummaries(t *testing.T) {
	master, slave := openPTY(t)
	defer master.Close()

	var out bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, master) // ends with EIO once the slave is closed
		close(readDone)
	}()

	p := NewProgress(slave, 2)
	if !p.terminal {
		slave.Close()
		t.Fatal("pseudo-terminal not detected as a terminal")
	}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for e := 1; e <= 2; e++ {
			p.StartEpoch(e, 8)
			for range 8 {
				time.Sleep(40 * time.Millisecond)
				p.Batch(64, 0.5, 0.875)
			}
			if e == 1 {
				p.Printf("checkpoint saved")
			}
			p.EndEpoch(EpochRecord{TrainLoss: 0.5, TrainAccuracy: 0.875, ValLoss: 0.25, ValAccuracy: 0.9})
		}
		p.StartEpoch(3, 8) // an epoch cut short, cleaned up by Close
		p.Batch(64, 0.5, 0.875)
		p.Close()
	}()
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		t.Fatal("progress reporting hung")
	}
	slave.Close()
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
		t.Fatal("reading the terminal hung")
	}

	s := out.String()
	if path := os.Getenv("FOVEA_TTY_DUMP"); path != "" {
		_ = os.WriteFile(path, out.Bytes(), 0o644)
	}
	for _, want := range []string{
		"epoch 1/2  loss 0.5000 acc 0.8750  val_loss 0.2500 val_acc 0.9000",
		"epoch 2/2  loss 0.5000 acc 0.8750  val_loss 0.2500 val_acc 0.9000",
		"checkpoint saved",
		"img/s",      // the live bar's speed
		"acc 0.8750", // the live bar's running accuracy
		"/8",         // the live bar's batch counter
	} {
		if !strings.Contains(s, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, s)
		}
	}
	if strings.Index(s, "epoch 1/2  loss") > strings.Index(s, "epoch 2/2  loss") {
		t.Errorf("summaries out of order:\n%q", s)
	}
}
