//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	return err == nil
}

// errPasswordAborted reports Ctrl-C or Ctrl-D at the password prompt.
var errPasswordAborted = errors.New("password input aborted")

// readPassword writes prompt to w and reads a password from in. On a terminal, echo is
// turned off and each typed character shows as '*', as redis-cli's linenoise mask mode
// does; Backspace erases, Enter ends, Ctrl-C or Ctrl-D on an empty line abort. When
// in is not a terminal, one line is read as it is, without a prompt, as redis-cli
// does.
func readPassword(in *os.File, w io.Writer, prompt string) (string, error) {
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return readLine(in)
	}
	fmt.Fprint(w, prompt)
	raw := *old
	raw.Lflag &^= unix.ECHO | unix.ICANON | unix.ISIG
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &raw); err != nil {
		return "", fmt.Errorf("read password: set terminal mode: %w", err)
	}
	defer func() {
		_ = unix.IoctlSetTermios(fd, ioctlSetTermios, old)
		fmt.Fprintln(w)
	}()
	var pw []byte
	var b [1]byte
	for {
		n, err := in.Read(b[:])
		if err != nil || n == 0 {
			if len(pw) > 0 && err == io.EOF {
				return string(pw), nil
			}
			return "", fmt.Errorf("read password: %w", errPasswordAborted)
		}
		switch c := b[0]; c {
		case '\r', '\n':
			return string(pw), nil
		case 3: // Ctrl-C
			return "", errPasswordAborted
		case 4: // Ctrl-D
			if len(pw) == 0 {
				return "", errPasswordAborted
			}
		case 127, 8: // Backspace
			if len(pw) > 0 {
				pw = pw[:len(pw)-1]
				fmt.Fprint(w, "\b \b")
			}
		default:
			pw = append(pw, c)
			fmt.Fprint(w, "*")
		}
	}
}
