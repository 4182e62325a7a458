package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/localredis"
	"github.com/rcli-dev/rcli/internal/redistest"
)

// streamProc is a client process that streams until it is interrupted.
type streamProc struct {
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
}

// startStream starts bin with args and an empty stdin.
func startStream(t *testing.T, bin string, args ...string) *streamProc {
	t.Helper()
	p := &streamProc{cmd: exec.Command(bin, args...)}
	p.cmd.Env = cleanEnv(nil)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	return p
}

// stop interrupts the process as Ctrl-C would and checks it exits with 130.
func (p *streamProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	err := p.cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitInterrupted, ee.ExitCode())
}

// kill ends the process (redis-cli does not catch SIGINT outside its shell: it dies
// of it).
func (p *streamProc) kill() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// waitOutput waits until the process's stdout holds want.
func (p *streamProc) waitOutput(t *testing.T, want string) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(p.stdout.String(), want) }, 15*time.Second, 10*time.Millisecond,
		"waiting for %q in %q (stderr %q)", want, p.stdout.String(), p.stderr.String())
}

// TestPubSubCompareRedisCLI subscribes with redis-cli and rcli side by side, publishes
// the same messages (binary and quoted ones included) and compares what they print:
// equal in raw, standard and CSV modes, in RESP2 and RESP3; in the JSON modes rcli
// leaves out the "Reading messages..." line that breaks redis-cli's JSON, and prints
// only valid JSON.
func TestPubSubCompareRedisCLI(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	port := strconv.Itoa(srv.Port)
	payloads := []string{"hello", `say "hi"`, "bin\x00\x01\xff", "", "ünï"}
	for _, kind := range []string{"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"} {
		for _, mode := range [][]string{nil, {"--no-raw"}, {"--csv"}, {"-3", "--no-raw"}, {"-3"}, {"--json"}, {"--quoted-json"}, {"-3", "--json"}} {
			name := kind + " " + strings.Join(mode, " ")
			t.Run(name, func(t *testing.T) {
				prefix := fmt.Sprintf("cmp%d:", time.Now().UnixNano())
				ch1, ch2 := prefix+"a", prefix+"b"
				subArgs := []string{ch1, ch2}
				if kind == "PSUBSCRIBE" {
					subArgs = []string{prefix + "*"}
				}
				args := append(append([]string{"-p", port}, mode...), append([]string{kind}, subArgs...)...)
				theirs := startStream(t, "redis-cli", args...)
				ours := startStream(t, rcli, args...)
				// A confirmation is printed once the subscription is in force.
				ours.waitOutput(t, subArgs[len(subArgs)-1])
				theirs.waitOutput(t, subArgs[len(subArgs)-1])
				pub := "PUBLISH"
				if kind == "SSUBSCRIBE" {
					pub = "SPUBLISH"
				}
				for _, p := range payloads {
					do(t, srv, pub, ch1, p)
					do(t, srv, pub, ch2, p+"2")
				}
				do(t, srv, pub, ch2, "last")
				ours.waitOutput(t, "last")
				theirs.waitOutput(t, "last")
				ours.stop(t)
				theirs.kill()
				got, want := ours.stdout.String(), theirs.stdout.String()
				assert.Empty(t, ours.stderr.String())
				json := len(mode) > 0 && strings.HasSuffix(mode[len(mode)-1], "json")
				if !json {
					assert.Equal(t, want, got)
					return
				}
				const line = "Reading messages... (press Ctrl-C to quit)\n"
				assert.True(t, strings.HasPrefix(want, line), "redis-cli prints its line even in JSON mode")
				assert.NotContains(t, got, "Reading messages")
				lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
				assert.Len(t, lines, len(strings.Split(strings.TrimSuffix(strings.TrimPrefix(want, line), "\n"), "\n")), "one line per value, as redis-cli")
				for _, l := range lines {
					var v []any
					assert.NoError(t, jsonUnmarshal(l, &v), "valid JSON: %q", l)
				}
			})
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// TestPubSubErrorsLikeRedisCLI: a subscription command the server refuses prints its
// error and ends the run with 0, as redis-cli does.
func TestPubSubErrorsLikeRedisCLI(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	for _, args := range [][]string{{"SUBSCRIBE"}, {"--no-raw", "SSUBSCRIBE"}, {"--json", "PSUBSCRIBE"}} {
		inv := invocation{args: append([]string{"-p", strconv.Itoa(srv.Port)}, args...)}
		want := runBinary(t, "redis-cli", inv)
		got := runBinary(t, rcli, inv)
		if args[0] == "--json" {
			// redis-cli's JSON is no JSON here: its line, then error:"...".
			var v map[string]any
			assert.NoError(t, jsonUnmarshal(got.Stdout, &v), "%q", got.Stdout)
			assert.Equal(t, "ERR wrong number of arguments for 'psubscribe' command", v["error"])
			assert.Equal(t, want.Code, got.Code)
			continue
		}
		assert.Equal(t, want, got, "%q", args)
	}
}

// infoCalls returns the calls of a command in INFO commandstats (rejected and failed
// calls included), or 0.
func infoCalls(t *testing.T, s *localredis.Server, cmd string) int {
	t.Helper()
	v := do(t, s, "INFO", "commandstats")
	for _, line := range strings.Split(v.Text(), "\r\n") {
		rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":")
		if !ok {
			continue
		}
		n := 0
		for _, f := range strings.Split(rest, ",") {
			k, val, _ := strings.Cut(f, "=")
			if k == "calls" || k == "rejected_calls" {
				x, err := strconv.Atoi(val)
				require.NoError(t, err)
				n += x
			}
		}
		return n
	}
	return 0
}

// TestEvalShaFirst: --eval sends EVALSHA and the script itself only after NOSCRIPT;
// the output is redis-cli's.
func TestEvalShaFirst(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	script := filepath.Join(t.TempDir(), "s.lua")
	require.NoError(t, os.WriteFile(script, []byte("redis.call('SET', KEYS[1], ARGV[1]); return {KEYS[1], ARGV[1], ARGV[2]}"), 0o600))
	inv := invocation{args: []string{"-p", strconv.Itoa(srv.Port), "--eval", script, "k1", ",", "v1", "v2"}}
	want := runBinary(t, "redis-cli", inv)
	do(t, srv, "SCRIPT", "FLUSH")
	do(t, srv, "CONFIG", "RESETSTAT")
	got := runBinary(t, rcli, inv)
	assert.Equal(t, want, got)
	assert.Equal(t, 1, infoCalls(t, srv, "evalsha"), "EVALSHA first")
	assert.Equal(t, 1, infoCalls(t, srv, "eval"), "EVAL after NOSCRIPT")
	inv.args = append([]string{"-r", "3"}, inv.args...)
	got = runBinary(t, rcli, inv)
	assert.Equal(t, want.Stdout+want.Stdout+want.Stdout, got.Stdout)
	assert.Equal(t, 4, infoCalls(t, srv, "evalsha"), "the script is cached now")
	assert.Equal(t, 1, infoCalls(t, srv, "eval"), "never sent again")
}
