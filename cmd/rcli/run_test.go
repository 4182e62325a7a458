package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testStreams returns streams over buffers, no terminal anywhere and no environment,
// and the buffers.
func testStreams(stdin string, env map[string]string) (*streams, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &streams{
		In:     strings.NewReader(stdin),
		Out:    &out,
		Err:    &errOut,
		Getenv: func(k string) string { return env[k] },
		ReadPassword: func(string) (string, error) {
			return "", errors.New("no terminal in tests")
		},
	}, &out, &errOut
}

// runInProcess runs rcli in-process and returns its stdout, stderr and exit code.
func runInProcess(t *testing.T, s *streams, out, errOut *bytes.Buffer, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, args, s)
	return out.String(), errOut.String(), code
}

func TestRunWithoutServer(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		stdin      string
		inTTY      bool
		wantOut    string // prefix of stdout
		wantErr    string // exact stderr
		wantCode   int
		wantNoConn bool
	}{
		{name: "version", args: []string{"-v"}, wantOut: "rcli ", wantCode: 0},
		{name: "usage", args: []string{"--help"}, wantOut: "rcli ", wantCode: 0},
		{name: "usage with h last", args: []string{"-p", "1", "-h"}, wantOut: "rcli ", wantCode: 0},
		{name: "unknown option", args: []string{"--nope"}, wantErr: "Unrecognized option or bad number of args for: '--nope'\n", wantCode: 1},
		{name: "unsupported mode", args: []string{"--replica"}, wantErr: "rcli: --replica is not supported yet\n", wantCode: 1},
		{name: "unsupported mode with a password warns first", args: []string{"-a", "x", "--replica"},
			wantErr:  "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\nrcli: --replica is not supported yet\n",
			wantCode: 1},
		{name: "bad quoted input", args: []string{"-p", "1", "--quoted-input", "set", `"a`, "b"}, wantErr: "Invalid quoted string\n", wantCode: 1},
		{name: "quoted input splitting in two", args: []string{"-p", "1", "--quoted-input", "get", `a b`}, wantErr: "Invalid quoted string\n", wantCode: 1},
		{name: "stdin tag not found", args: []string{"-p", "1", "-X", "tag", "set", "k", "v"}, wantErr: "Using -X option but stdin tag not match.\n", wantCode: 1},
		{name: "askpass failure", args: []string{"--askpass", "-p", "1", "ping"}, wantErr: "rcli: no terminal in tests\n", wantCode: 1},
		{name: "connection refused", args: []string{"-p", "1", "ping"}, wantErr: "Could not connect to Redis at 127.0.0.1:1: Connection refused\n", wantCode: 1},
		{name: "stdin lines connection refused", args: []string{"-p", "1"}, stdin: "ping\n", wantErr: "Could not connect to Redis at 127.0.0.1:1: Connection refused\n", wantCode: 1},
		{name: "bad cacert", args: []string{"-p", "1", "--tls", "--cacert", "/nonexistent/ca.pem", "ping"},
			wantErr: "Could not negotiate a TLS connection: load CA certificate file: open /nonexistent/ca.pem: no such file or directory\n", wantCode: 1},
		{name: "cert without key", args: []string{"-p", "1", "--tls", "--cert", "c.pem", "ping"},
			wantErr: "Could not negotiate a TLS connection: --cert needs --key with the certificate's private key\n", wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, out, errOut := testStreams(tt.stdin, nil)
			s.InTTY = tt.inTTY
			stdout, stderr, code := runInProcess(t, s, out, errOut, tt.args...)
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantErr, stderr)
			assert.True(t, strings.HasPrefix(stdout, tt.wantOut), "stdout %q", stdout)
		})
	}
}

func TestUsageListsWhatIsNotSupported(t *testing.T) {
	s, out, errOut := testStreams("", nil)
	stdout, _, code := runInProcess(t, s, out, errOut, "--help")
	require.Equal(t, 0, code)
	for _, mode := range []string{"--pipe", "--bigkeys", "--cluster", "--ldb", "--replica"} {
		assert.Contains(t, stdout, mode)
	}
	assert.Contains(t, stdout, "--no-color")
}

func TestPasswordSources(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		prompt string // what ReadPassword returns; "" means it must not be called
		want   string
		has    bool
	}{
		{name: "none", want: "", has: false},
		{name: "flag", args: []string{"-a", "flagpw"}, env: map[string]string{"REDISCLI_AUTH": "envpw"}, want: "flagpw", has: true},
		{name: "redis-cli env", env: map[string]string{"REDISCLI_AUTH": "envpw"}, want: "envpw", has: true},
		{name: "rcli env wins over redis-cli env", env: map[string]string{"REDISCLI_AUTH": "envpw", "RCLI_AUTH": "rclipw"}, want: "rclipw", has: true},
		{name: "askpass wins over everything", args: []string{"-a", "flagpw", "--askpass"}, env: map[string]string{"RCLI_AUTH": "x"}, prompt: "typed", want: "typed", has: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err := parseArgs(append(tt.args, "ping"))
			require.NoError(t, err)
			s, _, _ := testStreams("", tt.env)
			var prompts []string
			s.ReadPassword = func(p string) (string, error) {
				prompts = append(prompts, p)
				return tt.prompt, nil
			}
			require.NoError(t, resolvePassword(o, s))
			assert.Equal(t, tt.want, o.password)
			assert.Equal(t, tt.has, o.hasPassword)
			if tt.prompt != "" {
				assert.Equal(t, []string{"Please input password: "}, prompts)
			} else {
				assert.Empty(t, prompts)
			}
		})
	}
}

func TestOutputDecision(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		outTTY     bool
		color      bool
		env        map[string]string
		wantMode   string
		wantColor  bool
		wantPushes bool
	}{
		{name: "pipe is raw", wantMode: "raw"},
		{name: "terminal is standard with colour and pushes", outTTY: true, color: true, wantMode: "standard", wantColor: true, wantPushes: true},
		{name: "FAKETTY is standard without colour", outTTY: true, wantMode: "standard", wantPushes: true},
		{name: "NO_COLOR", outTTY: true, color: true, env: map[string]string{"NO_COLOR": "1"}, wantMode: "standard", wantPushes: true},
		{name: "no-color flag", args: []string{"--no-color"}, outTTY: true, color: true, wantMode: "standard", wantPushes: true},
		{name: "raw on a terminal", args: []string{"--raw"}, outTTY: true, color: true, wantMode: "raw", wantPushes: true},
		{name: "no-raw in a pipe has no colour", args: []string{"--no-raw"}, wantMode: "standard"},
		{name: "csv", args: []string{"--csv"}, outTTY: true, color: true, wantMode: "csv", wantPushes: true},
		{name: "json", args: []string{"--json"}, wantMode: "json"},
		{name: "quoted json", args: []string{"--quoted-json"}, wantMode: "quoted-json"},
		{name: "pushes forced on", args: []string{"--show-pushes", "y"}, wantMode: "raw", wantPushes: true},
		{name: "pushes forced off", args: []string{"--show-pushes", "n"}, outTTY: true, wantMode: "standard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err := parseArgs(append(tt.args, "ping"))
			require.NoError(t, err)
			s, _, _ := testStreams("", tt.env)
			s.OutTTY, s.OutColor = tt.outTTY, tt.color
			a := newApp(o, s)
			assert.Equal(t, tt.wantMode, a.out.Mode.String())
			assert.Equal(t, tt.wantColor, a.out.Color)
			assert.Equal(t, tt.wantPushes, a.showPushes)
		})
	}
}

func TestProtocolDecision(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{nil, 2},
		{[]string{"-3"}, 3},
		{[]string{"--json"}, 3},
		{[]string{"--quoted-json"}, 3},
		{[]string{"-2", "--json"}, 2},
		{[]string{"-u", "redis://h?protocol=3"}, 3},
		{[]string{"-2", "-u", "redis://h?protocol=3"}, 2},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_")+"_", func(t *testing.T) {
			o, _, err := parseArgs(append(tt.args, "ping"))
			require.NoError(t, err)
			s, _, _ := testStreams("", nil)
			po, err := newApp(o, s).poolOptions()
			require.NoError(t, err)
			assert.Equal(t, tt.want, po.Protocol)
		})
	}
}

func TestUserWithoutPasswordSendsNoAuth(t *testing.T) {
	o, _, err := parseArgs([]string{"--user", "alice", "ping"})
	require.NoError(t, err)
	s, _, _ := testStreams("", nil)
	po, err := newApp(o, s).poolOptions()
	require.NoError(t, err)
	assert.Empty(t, po.Username)
	assert.Empty(t, po.Password)
}

// hostileServer accepts connections, reads whatever the client sends, answers every
// connection with reply and then either closes it or, with stall, keeps it open
// without a word until the test ends.
func hostileServer(t *testing.T, reply []byte, stall bool) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(done)
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 4096)
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Read(buf); err != nil {
					return
				}
				if _, err := c.Write(reply); err != nil {
					return
				}
				if stall {
					<-done
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestHostileServer(t *testing.T) {
	deep := bytes.Repeat([]byte("*1\r\n"), 100000)
	tests := []struct {
		name    string
		reply   []byte
		stall   bool
		wantErr string // substring of stderr
	}{
		{name: "stalled reply", reply: nil, stall: true, wantErr: "Error: no reply from 127.0.0.1:"},
		{name: "stalled in a bulk", reply: []byte("$10\r\nabc"), stall: true, wantErr: "within 500ms (the read timeout"},
		{name: "huge declared bulk that never comes", reply: []byte("$500000000\r\nabc"), stall: true, wantErr: "within 500ms"},
		{name: "bulk beyond the limit", reply: []byte("$99999999999\r\n"), stall: true, wantErr: "Error: Protocol error from 127.0.0.1:"},
		{name: "huge declared array", reply: []byte("*2147483647\r\n:1\r\n"), stall: true, wantErr: "within 500ms"},
		{name: "endless nesting", reply: deep, stall: true, wantErr: "Error: Protocol error"},
		{name: "bytes after a bulk", reply: []byte("$3\r\nabcXYZ\r\n"), stall: true, wantErr: "Error: Protocol error"},
		{name: "unknown type byte", reply: []byte("@what\r\n"), stall: true, wantErr: "Error: Protocol error"},
		{name: "negative length", reply: []byte("$-5\r\n"), stall: true, wantErr: "Error: Protocol error"},
		{name: "closed mid-reply", reply: []byte("$10\r\nabc"), stall: false, wantErr: "Error: Server closed the connection"},
		{name: "closed before replying", reply: nil, stall: false, wantErr: "Error: Server closed the connection"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := hostileServer(t, tt.reply, tt.stall)
			s, out, errOut := testStreams("", nil)
			start := time.Now()
			_, stderr, code := runInProcess(t, s, out, errOut, "-p", strconv.Itoa(port), "--read-timeout", "0.5", "get", "k")
			assert.Less(t, time.Since(start), 3*time.Second)
			assert.Equal(t, 1, code)
			assert.Contains(t, stderr, tt.wantErr)
		})
	}
}

func TestSubcommandRoot(t *testing.T) {
	var ran []string
	sub := subcommand{
		name:  "probe",
		short: "a test subcommand",
		build: func(a *app) *cobra.Command {
			var flag string
			c := &cobra.Command{
				Use: "probe",
				RunE: func(cmd *cobra.Command, args []string) error {
					ran = append(ran, flag)
					ran = append(ran, args...)
					_, err := io.WriteString(cmd.OutOrStdout(), "probed\n")
					return err
				},
			}
			c.Flags().StringVar(&flag, "flag", "", "")
			return c
		},
	}
	subs := []subcommand{sub}
	_, ok := findSubcommand(subs, "help")
	assert.False(t, ok, "help is never a subcommand")
	_, ok = findSubcommand(subs, "PROBE")
	assert.False(t, ok, "names match exactly")
	found, ok := findSubcommand(subs, "probe")
	require.True(t, ok)

	s, out, _ := testStreams("", nil)
	o, _, err := parseArgs([]string{"probe", "--flag", "v", "x"})
	require.NoError(t, err)
	a := newApp(o, s)
	require.NoError(t, runSubcommand(context.Background(), a, found, o.command))
	assert.Equal(t, []string{"v", "x"}, ran)
	assert.Equal(t, "probed\n", out.String())

	// cobra's own help and completion commands do not exist.
	for _, args := range [][]string{{"help"}, {"completion", "bash"}} {
		err := runSubcommand(context.Background(), a, found, args)
		assert.Error(t, err, "%v", args)
	}
	err = runSubcommand(context.Background(), a, found, []string{"probe", "--nope"})
	assert.ErrorContains(t, err, "rcli probe: unknown flag: --nope")
}

func TestNoRedisCommandIsASubcommand(t *testing.T) {
	for _, s := range subcommands() {
		assert.NotContains(t, []string{"help", "completion", "info", "client", "cluster", "command", "monitor"}, strings.ToLower(s.name))
	}
}
