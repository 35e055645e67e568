//go:build !linux

package training

import (
	"io"
	"os"
)

// isTerminal reports whether w is an *os.File on a character device,
// which on most systems other than Linux is close enough to "a terminal".
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
