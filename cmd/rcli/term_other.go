//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import (
	"fmt"
	"io"
	"os"
)

// isTerminal reports whether f is a terminal; without termios it is taken to be
// one only when it is a character device.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// readPassword writes prompt to w, when in is a terminal, and reads one line from in.
// Input is not masked on this platform.
func readPassword(in *os.File, w io.Writer, prompt string) (string, error) {
	if isTerminal(in) {
		fmt.Fprint(w, prompt)
	}
	return readLine(in)
}
