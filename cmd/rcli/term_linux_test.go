package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/rcli-dev/rcli/internal/redistest"
)

// openPTY opens a pseudo-terminal pair: the controlling side and the terminal.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { _ = ptmx.Close() })
	require.NoError(t, unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tty.Close() })
	return ptmx, tty
}

func TestReadPasswordOnATerminal(t *testing.T) {
	tests := []struct {
		name   string
		typed  string
		want   string
		echo   string
		errMsg string
	}{
		{name: "masked", typed: "secret\r", want: "secret", echo: "Please input password: ******\n"},
		{name: "backspace", typed: "sex\x7fcret\n", want: "secret", echo: "Please input password: ***\b \b****\n"},
		{name: "empty", typed: "\r", want: "", echo: "Please input password: \n"},
		{name: "ctrl-c aborts", typed: "se\x03", errMsg: "password input aborted"},
		{name: "ctrl-d aborts", typed: "\x04", errMsg: "password input aborted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ptmx, tty := openPTY(t)
			before, err := unix.IoctlGetTermios(int(tty.Fd()), ioctlGetTermios)
			require.NoError(t, err)
			type outcome struct {
				pw  string
				err error
			}
			done := make(chan outcome, 1)
			var shown bytes.Buffer
			go func() {
				pw, err := readPassword(tty, &shown, "Please input password: ")
				done <- outcome{pw, err}
			}()
			// Type only once echo is off, as a person would after the prompt: in the
			// terminal's normal mode Ctrl-C and Ctrl-D would be taken by the line
			// discipline.
			require.Eventually(t, func() bool {
				now, err := unix.IoctlGetTermios(int(tty.Fd()), ioctlGetTermios)
				return err == nil && now.Lflag&unix.ECHO == 0
			}, 5*time.Second, time.Millisecond)
			_, err = ptmx.WriteString(tt.typed)
			require.NoError(t, err)
			var res outcome
			select {
			case res = <-done:
			case <-time.After(5 * time.Second):
				require.FailNow(t, "readPassword did not return")
			}
			got, err := res.pw, res.err
			if tt.errMsg != "" {
				assert.ErrorContains(t, err, tt.errMsg)
			} else {
				require.NoError(t, err)
				assert.Equal(t, tt.want, got)
				assert.Equal(t, tt.echo, shown.String())
			}
			after, err := unix.IoctlGetTermios(int(tty.Fd()), ioctlGetTermios)
			require.NoError(t, err)
			assert.Equal(t, before.Lflag, after.Lflag, "terminal mode restored")
		})
	}
}

func TestReadPasswordFromAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	_, err = w.WriteString("pw\r\nPING\n")
	require.NoError(t, err)
	require.NoError(t, w.Close())
	var shown bytes.Buffer
	got, err := readPassword(r, &shown, "Please input password: ")
	require.NoError(t, err)
	assert.Equal(t, "pw", got)
	assert.Empty(t, shown.String(), "no prompt without a terminal")
	rest := make([]byte, 16)
	n, _ := r.Read(rest)
	assert.Equal(t, "PING\n", string(rest[:n]), "the next line is left for the commands")
}

func TestIsTerminal(t *testing.T) {
	_, tty := openPTY(t)
	assert.True(t, isTerminal(tty))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, isTerminal(r))
}

// runOnTerminal runs the rcli binary with stdout (and, with stdinTTY, stdin) on a
// pseudo-terminal and returns what the terminal showed, with the terminal's "\r\n"
// turned back into "\n", and the exit code.
func runOnTerminal(t *testing.T, bin string, env map[string]string, stdinTTY bool, args ...string) (string, int) {
	t.Helper()
	ptmx, tty := openPTY(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv(env)
	cmd.Stdout, cmd.Stderr = tty, tty
	if stdinTTY {
		cmd.Stdin = tty
	}
	var shown syncBuffer
	go func() { _, _ = io.Copy(&shown, ptmx) }()
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	// The output is in the terminal's buffer once the process has ended; wait for the
	// copy to catch up with it.
	var last string
	require.Eventually(t, func() bool {
		now := shown.String()
		settled := now == last && now != ""
		last = now
		return settled
	}, 5*time.Second, 50*time.Millisecond)
	return strings.ReplaceAll(shown.String(), "\r\n", "\n"), code
}

func TestTerminalOutput(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	port := strconv.Itoa(srv.Port)
	nested := []string{"-p", port, "EVAL", "return {1,'a',{2}}", "0"}
	const plain = "1) (integer) 1\n2) \"a\"\n3) 1) (integer) 2\n"
	t.Run("standard with colour", func(t *testing.T) {
		got, code := runOnTerminal(t, rcli, nil, false, nested...)
		assert.Equal(t, 0, code)
		assert.Contains(t, got, "\x1b[")
		assert.Equal(t, plain, stripANSI(got))
	})
	t.Run("NO_COLOR", func(t *testing.T) {
		got, _ := runOnTerminal(t, rcli, map[string]string{"NO_COLOR": "1"}, false, nested...)
		assert.Equal(t, plain, got)
	})
	t.Run("no-color flag", func(t *testing.T) {
		got, _ := runOnTerminal(t, rcli, nil, false, append([]string{"--no-color"}, nested...)...)
		assert.Equal(t, plain, got)
	})
	t.Run("raw on a terminal has no colour", func(t *testing.T) {
		got, _ := runOnTerminal(t, rcli, nil, false, append([]string{"--raw"}, nested...)...)
		assert.Equal(t, "1\na\n2\n", got)
	})
	t.Run("pushes shown by default", func(t *testing.T) {
		got, _ := runOnTerminal(t, rcli, nil, false, "-p", port, "-3", "DEBUG", "PROTOCOL", "push")
		assert.Equal(t, "1) \"server-cpu-usage\"\n2) (integer) 42\n\"Some real reply following the push reply\"\n", stripANSI(got))
	})
}

// stripANSI removes colour escapes.
func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
