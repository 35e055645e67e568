package training

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether w is an *os.File open on a terminal. Unlike a
// check of os.ModeCharDevice it is false for /dev/null.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
