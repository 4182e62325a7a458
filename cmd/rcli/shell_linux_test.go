package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/rcli-dev/rcli/internal/cluster"
	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
)

// screenCols is the width of the test terminal; test lines stay well within it
// (chzyer/readline mishandles lines that wrap).
const (
	screenCols = 160
	screenRows = 50
)

// vt is a small terminal emulator, enough for what rcli and readline draw: text, CR,
// LF, BS, cursor moves (CSI A B C D H), erasing (CSI K J) and the grey of hints (SGR
// 90). Its screen grows downwards without scrolling, so nothing drawn is lost.
type vt struct {
	lines    [][]cell
	row, col int
	grey     bool
}

type cell struct {
	r    rune
	grey bool
}

func (v *vt) line(i int) []cell {
	for len(v.lines) <= i {
		v.lines = append(v.lines, nil)
	}
	return v.lines[i]
}

func (v *vt) put(r rune) {
	if v.col >= screenCols {
		v.col = 0
		v.row++
	}
	l := v.line(v.row)
	for len(l) <= v.col {
		l = append(l, cell{r: ' '})
	}
	l[v.col] = cell{r: r, grey: v.grey}
	v.lines[v.row] = l
	v.col++
}

// clearLine blanks a row from column from to column to (exclusive; -1 for the end).
func (v *vt) clearLine(row, from, to int) {
	l := v.line(row)
	if to < 0 || to > len(l) {
		to = len(l)
	}
	for i := from; i < to; i++ {
		l[i] = cell{r: ' '}
	}
}

func (v *vt) feed(data []byte) {
	s := []rune(string(data))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r':
			v.col = 0
		case c == '\n':
			v.row++
			v.line(v.row)
		case c == '\b':
			if v.col > 0 {
				v.col--
			}
		case c == 0x07:
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j == len(s) {
				return
			}
			v.csi(string(s[i+2:j]), s[j])
			i = j
		case c == 0x1b:
			i++ // a two-byte escape: ignored
		default:
			v.put(c)
		}
	}
}

func (v *vt) csi(params string, final rune) {
	n := 1
	if p, err := strconv.Atoi(params); err == nil && p > 0 {
		n = p
	}
	switch final {
	case 'A':
		v.row = max(0, v.row-n)
	case 'B':
		v.row += n
	case 'C':
		v.col += n
	case 'D':
		v.col = max(0, v.col-n)
	case 'H':
		v.row, v.col = max(0, len(v.lines)-screenRows), 0
	case 'K':
		switch params {
		case "", "0":
			v.clearLine(v.row, v.col, -1)
		case "1":
			v.clearLine(v.row, 0, v.col+1)
		case "2":
			v.clearLine(v.row, 0, -1)
		}
	case 'J':
		if params == "2" {
			v.lines, v.row, v.col = nil, 0, 0
			return
		}
		v.clearLine(v.row, v.col, -1)
		for r := v.row + 1; r < len(v.lines); r++ {
			v.lines[r] = nil
		}
	case 'm':
		for _, p := range strings.Split(params, ";") {
			switch p {
			case "", "0", "39":
				v.grey = false
			case "90":
				v.grey = true
			}
		}
	}
}

// text returns row i without trailing spaces; grey cells only when grey is set, else
// every cell.
func (v *vt) text(i int, greyOnly bool) string {
	if i >= len(v.lines) {
		return ""
	}
	var b strings.Builder
	for _, c := range v.lines[i] {
		if !greyOnly || c.grey {
			b.WriteRune(c.r)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

// String returns the whole screen, one row per line.
func (v *vt) String() string {
	rows := make([]string, len(v.lines))
	for i := range v.lines {
		rows[i] = v.text(i, false)
	}
	return strings.Join(rows, "\n")
}

// ptyShell is rcli's shell running in a pseudo-terminal.
type ptyShell struct {
	t    *testing.T
	ptmx *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	raw  bytes.Buffer
	done chan struct{}
	code int
}

// startShell runs the built rcli with args on a new pseudo-terminal, as its
// controlling terminal, with the given environment (HOME points into a temporary
// directory unless env sets it). stderr, when not nil, receives stderr instead of
// the terminal.
func startShell(t *testing.T, env map[string]string, stderr io.Writer, args ...string) *ptyShell {
	t.Helper()
	bin := requireTools(t)
	ptmx, tty := openPTY(t)
	require.NoError(t, unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: screenRows, Col: screenCols}))
	full := map[string]string{"HOME": t.TempDir(), "TERM": "xterm"}
	for k, v := range env {
		full[k] = v
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv(full)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	if stderr != nil {
		cmd.Stderr = stderr
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	require.NoError(t, cmd.Start())
	p := &ptyShell{t: t, ptmx: ptmx, cmd: cmd, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			p.mu.Lock()
			p.raw.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("screen:\n%s", p.screen())
		}
	})
	return p
}

// send types s.
func (p *ptyShell) send(s string) {
	p.t.Helper()
	_, err := p.ptmx.WriteString(s)
	require.NoError(p.t, err)
}

// rawOutput returns every byte the terminal received.
func (p *ptyShell) rawOutput() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// screen renders what the terminal shows.
func (p *ptyShell) screen() *vt {
	v := &vt{}
	v.feed([]byte(p.rawOutput()))
	return v
}

// waitFor waits until cond holds for the screen, failing with the screen after 10s.
func (p *ptyShell) waitFor(what string, cond func(v *vt) bool) *vt {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := p.screen()
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			require.FailNowf(p.t, "timed out", "waiting for %s; the screen shows:\n%s", what, v)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCursorLine waits until the row the cursor is on reads want (grey hint included).
func (p *ptyShell) waitCursorLine(want string) *vt {
	p.t.Helper()
	return p.waitFor(fmt.Sprintf("the cursor's row to read %q", want), func(v *vt) bool { return v.text(v.row, false) == want })
}

// waitScreen waits until the screen contains want.
func (p *ptyShell) waitScreen(want string) *vt {
	p.t.Helper()
	return p.waitFor(fmt.Sprintf("%q on the screen", want), func(v *vt) bool { return strings.Contains(v.String(), want) })
}

// run types a line and waits for the prompt after its output.
func (p *ptyShell) run(line, nextPrompt string) *vt {
	p.t.Helper()
	before := strings.Count(p.screen().String(), "\n")
	p.send(line + "\r")
	return p.waitFor("the prompt after "+line, func(v *vt) bool {
		return v.row > before && v.text(v.row, false) == strings.TrimRight(nextPrompt, " ")
	})
}

// exit presses Ctrl-D and waits for rcli to end, returning its exit code.
func (p *ptyShell) exit() int {
	p.t.Helper()
	p.send("\x04")
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(500 * time.Millisecond)
		require.FailNow(p.t, "rcli did not exit after Ctrl-D")
	}
	return p.code
}

// serverInfo returns a field of INFO on srv.
func serverInfo(t *testing.T, srv *localredis.Server, field string) string {
	v := do(t, srv, "INFO")
	for _, line := range strings.Split(v.Text(), "\r\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return rest
		}
	}
	return ""
}

func TestShellOnATerminal(t *testing.T) {
	srv := redistest.StartServer(t)
	port := strconv.Itoa(srv.Port)
	prompt := srv.Addr + "> "
	home := t.TempDir()
	env := map[string]string{"HOME": home, "XDG_CACHE_HOME": filepath.Join(home, "cache")}

	t.Run("prompt in each state", func(t *testing.T) {
		down := redistest.StartServer(t)
		p := startShell(t, env, nil, "-p", strconv.Itoa(down.Port))
		dp := down.Addr
		p.waitCursorLine(dp + ">")
		p.run("SELECT 2", dp+"[2]> ")
		p.run("MULTI", dp+"[2](TX)> ")
		p.run("SET k v", dp+"[2](TX)> ")
		v := p.run("EXEC", dp+"[2]> ")
		assert.Contains(t, v.String(), "1) OK")
		require.NoError(t, down.Kill())
		v = p.run("PING", "not connected> ")
		assert.Regexp(t, `PING\nError: `, v.String())
		v = p.run("PING", "not connected> ")
		assert.Contains(t, v.text(v.row-1, false), "Could not connect to Redis at "+dp)
		require.NoError(t, down.Restart(context.Background()))
		// The pool may refuse at once for a little while after the failed dial, while
		// it probes the address in the background.
		for i := 0; ; i++ {
			p.send("PING\r")
			v = p.waitFor("an answer to PING", func(v *vt) bool {
				row := v.text(v.row, false)
				return strings.HasPrefix(v.text(v.row-1, false), "") && (row == "not connected>" || row == dp+"[2]>") && strings.HasSuffix(v.text(v.row-2, false), "> PING")
			})
			if v.text(v.row, false) == dp+"[2]>" || i == 50 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		assert.Equal(t, "PONG", v.text(v.row-1, false), "reconnected")
		assert.Equal(t, dp+"[2]>", v.text(v.row, false), "into database 2")
		assert.Equal(t, 0, p.exit())
	})

	t.Run("hint appears and shrinks", func(t *testing.T) {
		p := startShell(t, env, nil, "-p", port)
		p.waitCursorLine(prompt[:len(prompt)-1])
		p.send("SET")
		v := p.waitFor("the SET hint", func(v *vt) bool { return v.text(v.row, true) != "" })
		assert.Equal(t, prompt+"SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", v.text(v.row, false))
		assert.Equal(t, " key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", v.text(v.row, true), "the hint is grey")
		assert.Equal(t, len(prompt)+3, v.col, "the cursor stays after what was typed")
		p.send(" k v ")
		v = p.waitFor("the shrunk hint", func(v *vt) bool { return strings.HasPrefix(v.text(v.row, true), "[NX|XX]") })
		assert.Equal(t, prompt+"SET k v [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]", v.text(v.row, false))
		p.send("EX ")
		v = p.waitFor("the hint after EX", func(v *vt) bool { return strings.HasPrefix(v.text(v.row, true), "seconds") })
		assert.Equal(t, "seconds [NX|XX] [GET]", v.text(v.row, true))
		p.send("10\r")
		v = p.waitCursorLine(prompt[:len(prompt)-1])
		assert.Equal(t, prompt+"SET k v EX 10", v.text(v.row-2, false), "the submitted line keeps no hint")
		assert.Empty(t, v.text(v.row-2, true))
		assert.Equal(t, "OK", v.text(v.row-1, false))
		p.send(":set nohints\r")
		p.waitCursorLine(prompt[:len(prompt)-1])
		p.send("GET ")
		time.Sleep(100 * time.Millisecond)
		v = p.waitCursorLine(prompt + "GET")
		assert.Empty(t, v.text(v.row, true), "no hint after :set nohints")
		p.send("\x15")
		assert.Equal(t, 0, p.exit())
	})

	t.Run("Tab completes a command and a key", func(t *testing.T) {
		do(t, srv, "SET", "user:1042", "x")
		p := startShell(t, env, nil, "-p", port)
		p.waitCursorLine(prompt[:len(prompt)-1])
		p.send("hgeta\t")
		p.waitFor("hgetall", func(v *vt) bool { return strings.HasPrefix(v.text(v.row, false), prompt+"hgetall") })
		p.send("\x15GET user:10\t")
		p.waitFor("the key", func(v *vt) bool { return strings.HasPrefix(v.text(v.row, false), prompt+"GET user:1042") })
		v := p.run("", prompt)
		assert.Contains(t, v.String(), "\"x\"")
		assert.Equal(t, 0, p.exit())
	})

	t.Run("help SET", func(t *testing.T) {
		p := startShell(t, env, nil, "-p", port)
		p.waitCursorLine(prompt[:len(prompt)-1])
		v := p.run("help SET", prompt)
		assert.Contains(t, v.String(), "\n  SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]\n  summary: Set the string value of a key\n  since: 1.0.0\n  group: string\n")
		assert.Equal(t, 0, p.exit())
		cached, err := filepath.Glob(filepath.Join(home, "cache", "rcli", "docs-*.resp"))
		require.NoError(t, err)
		assert.Len(t, cached, 1, "the server's COMMAND DOCS are cached per version")
	})

	t.Run("MULTI and EXEC across lines", func(t *testing.T) {
		p := startShell(t, env, nil, "-p", port)
		p.waitCursorLine(prompt[:len(prompt)-1])
		p.run("DEL counter", prompt)
		p.run("MULTI", srv.Addr+"(TX)> ")
		v := p.run("INCR counter", srv.Addr+"(TX)> ")
		assert.Equal(t, "QUEUED", v.text(v.row-1, false))
		p.run("INCRBY counter 10", srv.Addr+"(TX)> ")
		v = p.run("EXEC", prompt)
		assert.Equal(t, "1) (integer) 1", v.text(v.row-2, false))
		assert.Equal(t, "2) (integer) 11", v.text(v.row-1, false))
		assert.Equal(t, 0, p.exit())
	})

	t.Run("a pasted block runs each line", func(t *testing.T) {
		p := startShell(t, env, nil, "-p", port)
		p.waitCursorLine(prompt[:len(prompt)-1])
		p.send("SET pasted 1\rINCR pasted\rGET pasted\r")
		v := p.waitScreen(prompt + "GET pasted\n\"2\"\n" + strings.TrimSpace(prompt))
		assert.Contains(t, v.String(), prompt+"SET pasted 1\nOK\n"+prompt+"INCR pasted\n(integer) 2\n")
		assert.Equal(t, 0, p.exit())
	})

	t.Run("SUBSCRIBE then Ctrl-C back to the prompt", func(t *testing.T) {
		p := startShell(t, env, nil, "-p", port)
		p.waitCursorLine(prompt[:len(prompt)-1])
		p.send("SUBSCRIBE news\r")
		p.waitScreen("Reading messages... (press Ctrl-C to quit)")
		require.Eventually(t, func() bool { return do(t, srv, "PUBLISH", "news", "hello").Int == 1 }, 10*time.Second, 20*time.Millisecond)
		p.waitScreen("1) \"message\"\n2) \"news\"\n3) \"hello\"")
		p.send("\x03")
		p.waitCursorLine(prompt[:len(prompt)-1])
		v := p.run("PING", prompt)
		assert.Equal(t, "PONG", v.text(v.row-1, false))
		assert.Equal(t, 0, p.exit())
	})

	t.Run("BLPOP then Ctrl-C", func(t *testing.T) {
		p := startShell(t, env, nil, "-p", port)
		p.waitCursorLine(prompt[:len(prompt)-1])
		v := p.run("CLIENT ID", prompt)
		id := v.text(v.row-1, false)
		p.send("BLPOP nothing 0\r")
		require.Eventually(t, func() bool { return serverInfo(t, srv, "blocked_clients") == "1" }, 10*time.Second, 10*time.Millisecond)
		p.send("\x03")
		v = p.waitCursorLine(prompt[:len(prompt)-1])
		assert.Equal(t, "(nil)", v.text(v.row-1, false))
		v = p.run("CLIENT ID", prompt)
		assert.Equal(t, id, v.text(v.row-1, false), "the same connection")
		assert.Equal(t, "0", serverInfo(t, srv, "blocked_clients"))
		assert.Equal(t, 0, p.exit())
	})

	t.Run("no colour with NO_COLOR", func(t *testing.T) {
		noColor := map[string]string{"HOME": home, "NO_COLOR": "1"}
		p := startShell(t, noColor, nil, "-p", port)
		p.waitCursorLine(prompt[:len(prompt)-1])
		p.send("SET")
		time.Sleep(200 * time.Millisecond)
		p.send("\x15")
		p.run("FOO", prompt)
		p.run("GET counter", prompt)
		assert.Equal(t, 0, p.exit())
		raw := p.rawOutput()
		assert.NotRegexp(t, regexp.MustCompile(`\x1b\[[0-9;]*m`), raw, "no SGR escapes at all")
		assert.Contains(t, p.screen().String(), "(error) ERR unknown command 'FOO'")
	})
}

func TestShellSecretsStayOffTheRecord(t *testing.T) {
	srv := redistest.StartServer(t)
	prompt := srv.Addr + "> "
	home := t.TempDir()
	hist := filepath.Join(home, "hist")
	var stderr syncBuffer
	p := startShell(t, map[string]string{"HOME": home, "RCLI_HISTFILE": hist}, &stderr, "-p", strconv.Itoa(srv.Port))
	p.waitCursorLine(prompt[:len(prompt)-1])
	const marker = "Zq9-marker-secret"
	typed := []string{
		"GET before",
		"AUTH " + marker,
		"HELLO 3 AUTH default " + marker,
		"2 AUTH default " + marker,
		"ACL SETUSER bob on >" + marker + " ~* +@all",
		"CONFIG SET masterauth " + marker,
		"CONFIG SET requirepass " + marker,
		"GET after",
	}
	for _, line := range typed {
		p.run(line, prompt)
	}
	assert.Equal(t, 0, p.exit())

	data, err := os.ReadFile(hist)
	require.NoError(t, err)
	assert.Equal(t, "GET before\nGET after\n", string(data))
	fi, err := os.Stat(hist)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	assert.NotContains(t, stderr.String(), marker, "stderr")
	screen := p.screen()
	shown := 0
	for i := range screen.lines {
		row := screen.text(i, false)
		if !strings.Contains(row, marker) {
			continue
		}
		shown++
		line, isInput := strings.CutPrefix(row, prompt)
		assert.True(t, isInput, "the secret on a line rcli printed: %q", row)
		assert.Contains(t, typed, line, "only as typed")
		assert.NotContains(t, screen.text(i, true), marker, "never in a hint")
	}
	assert.Equal(t, 6, shown, "each line typed with the secret, once")
	// The server really took the secret: it was sent, and shown only as typed.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = srv.Do(ctx, "PING")
	assert.ErrorContains(t, err, "NOAUTH")
}

func TestShellClusterRedirect(t *testing.T) {
	c := shared.Get(t)
	seed := c.Masters()[0]
	other := c.Masters()[1]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	key := ""
	for i := 0; key == ""; i++ {
		k := "k" + strconv.Itoa(i)
		owner, err := c.SlotOwner(ctx, cluster.SlotString(k))
		require.NoError(t, err)
		if owner == other {
			key = k
		}
	}
	env := map[string]string{"XDG_CACHE_HOME": t.TempDir()}
	p := startShell(t, env, nil, "-c", "-p", strconv.Itoa(seed.Port))
	p.waitCursorLine(seed.Addr + ">")
	v := p.run("SET "+key+" v", other.Addr+"> ")
	assert.Equal(t, fmt.Sprintf("-> Redirected to slot [%d] located at %s", cluster.SlotString(key), other.Addr), v.text(v.row-2, false))
	assert.Equal(t, "OK", v.text(v.row-1, false))
	v = p.run("GET "+key, other.Addr+"> ")
	assert.Equal(t, "\"v\"", v.text(v.row-1, false), "no redirect line when the node does not change")
	assert.Equal(t, 0, p.exit())
}
