package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoShellOnATerminal(t *testing.T) {
	requireTools(t)
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	tmp := t.TempDir()
	stderr := &syncBuffer{}
	p := startShell(t, map[string]string{"TMPDIR": tmp, "XDG_CACHE_HOME": tmp}, stderr, "demo")
	deadline := time.Now().Add(time.Minute)
	var port string
	for {
		if m := regexp.MustCompile(`  rcli -c -p (\d+)\n`).FindStringSubmatch(stderr.String()); m != nil {
			port = m[1]
			break
		}
		require.True(t, time.Now().Before(deadline), "the demo did not start:\n%s", stderr.String())
		time.Sleep(50 * time.Millisecond)
	}
	prompt := "127.0.0.1:" + port + "> "
	p.waitCursorLine(strings.TrimRight(prompt, " "))
	p.send("SET demo:key hello\r")
	p.waitScreen("\nOK\n")

	// Ctrl-C while a command runs cancels the command, not the servers: they live in a
	// process group of their own.
	p.send("DEBUG SLEEP 1\r")
	time.Sleep(300 * time.Millisecond)
	p.send("\x03")
	time.Sleep(1200 * time.Millisecond)
	p.send("GET demo:key\r")
	p.waitScreen(`"hello"`)

	assert.Equal(t, 0, p.exit())
	checkDemoGone(t, tmp, stderr.String())
}
