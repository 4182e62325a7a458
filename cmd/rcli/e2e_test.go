package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
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
	"github.com/rcli-dev/rcli/internal/resp"
)

// rcliBinary is the rcli built once by TestMain for the end-to-end tests; "" when
// the build failed (the tests then fail with the reason in buildErr).
var (
	rcliBinary string
	buildErr   error
)

// TestMain builds rcli once for the end-to-end tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rcli-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "rcli e2e: temp dir:", err)
		os.Exit(1)
	}
	bin := filepath.Join(dir, "rcli")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		buildErr = fmt.Errorf("go build: %w\n%s", err, out)
	} else {
		rcliBinary = bin
	}
	code := redistest.MainWithCluster(m, 3, 1, &shared)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// shared is the cluster of the tests that only read and write; tests that kill,
// migrate or reshard, or need other settings, start their own.
var shared redistest.SharedCluster

// requireTools skips (or, with RCLI_REQUIRE_REDIS=1, fails) when redis-server or
// redis-cli is missing, and fails when rcli did not build.
func requireTools(t *testing.T) string {
	t.Helper()
	redistest.RequireRedis(t)
	if _, err := exec.LookPath("redis-cli"); err != nil {
		if redistest.RedisRequired() {
			t.Fatalf("RCLI_REQUIRE_REDIS=1 but redis-cli is missing: %v", err)
		}
		t.Skipf("skipping: redis-cli is missing: %v", err)
	}
	require.NoError(t, buildErr)
	return rcliBinary
}

// result is what a process printed and how it exited.
type result struct {
	Stdout string
	Stderr string
	Code   int
}

// invocation is one run of a client binary.
type invocation struct {
	stdin []byte
	env   map[string]string // added to a clean environment
	args  []string
}

// cleanEnv returns the test process's environment without the variables that change
// either client's behaviour.
func cleanEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "REDISCLI_AUTH", "RCLI_AUTH", "FAKETTY", "NO_COLOR", "REDISCLI_HISTFILE", "REDISCLI_RCFILE":
			continue
		}
		env = append(env, kv)
	}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

// runBinary runs bin with inv and returns its result; it fails the test when the
// process cannot be run or takes longer than 20 seconds.
func runBinary(t *testing.T, bin string, inv invocation) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, inv.args...)
	cmd.Env = cleanEnv(inv.env)
	cmd.Stdin = bytes.NewReader(inv.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		require.NoError(t, err, "run %s %q", filepath.Base(bin), inv.args)
	}
	return result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}

// compare runs redis-cli and rcli with the same invocation and asserts equal stdout,
// stderr and exit code. setup, when set, runs before each of them.
func compare(t *testing.T, rcli string, inv invocation, setup func()) {
	t.Helper()
	if setup != nil {
		setup()
	}
	want := runBinary(t, "redis-cli", inv)
	if setup != nil {
		setup()
	}
	got := runBinary(t, rcli, inv)
	assert.Equal(t, want.Code, got.Code, "exit code of %q", inv.args)
	assert.Equal(t, want.Stdout, got.Stdout, "stdout of %q", inv.args)
	assert.Equal(t, want.Stderr, got.Stderr, "stderr of %q", inv.args)
}

// do runs a fixture command on srv and fails the test on an I/O error.
func do(t *testing.T, srv *localredis.Server, args ...string) resp.Value {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := srv.Do(ctx, args...)
	require.NoError(t, err, "%q", args)
	return v
}

// binaryValue holds every byte class redis-cli escapes: NUL, control bytes, quote,
// backslash, the named escapes, and bytes that are not UTF-8.
const binaryValue = "a\x00b\x01c\xffd\"e\\f\ng\rh\ti\aj\bk\x7fl\xc3"

// loadFixture writes the data the reply battery reads.
func loadFixture(t *testing.T, srv *localredis.Server) {
	t.Helper()
	for _, cmd := range [][]string{
		{"SET", "str", "hello world"},
		{"SET", "empty", ""},
		{"SET", "bin", binaryValue},
		{"SET", "utf8", "héllo wörld ✓ 日本語 🚀"},
		{"SET", "quote", `say "hi" \o/`},
		{"SET", "int", "12345"},
		{"SET", "float", "3.14"},
		{"RPUSH", "list", "a", "b", "c", "d e", "", "ünï"},
		{"RPUSH", "list12", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"},
		{"HSET", "hash", "f1", "v1", "f2", "v2", "f 3", "v\n3"},
		{"SADD", "set", "x", "y", "z"},
		{"ZADD", "zset", "1", "one", "2", "two", "2.5", "two and a half", "-inf", "minf"},
		{"XADD", "stream", "1-1", "f", "v"},
		{"XADD", "stream", "2-1", "a", "1", "b", "2"},
		{"SET", "dbkey", "in db 5"},
		{"MOVE", "dbkey", "5"},
	} {
		v := do(t, srv, cmd...)
		require.NotEqual(t, resp.Error, v.Kind, "%q: %s", cmd, v.Str)
	}
}

// replyCase is one command of the reply battery. The flags say where redis-cli is
// wrong, so that rcli is checked for being right instead of equal.
type replyCase struct {
	name string
	args []string
	// jsonWrong: redis-cli's JSON is not valid JSON (an error reply, bytes that are not
	// UTF-8, inf). jsonWrongRESP2: the same, only under RESP2.
	jsonWrong, jsonWrongRESP2 bool
	// quotedJSONWrong: redis-cli's quoted JSON breaks on an embedded '"'.
	quotedJSONWrong bool
	// resp3Wrong: redis-cli cannot read the RESP3 reply at all (big number, attribute).
	resp3Wrong bool
}

// replyCases is the battery: strings, binary, UTF-8, every data type, nested Lua
// replies, errors, empty results, DEBUG PROTOCOL types and always-raw commands.
func replyCases() []replyCase {
	const nestedLua = "return {1,'two',{3,{'four',false}},redis.status_reply('FINE'),redis.error_reply('MYERR bad'),true}"
	cases := []replyCase{
		{name: "ping", args: []string{"PING"}},
		{name: "echo multiline", args: []string{"ECHO", "line1\nline2"}},
		{name: "echo empty", args: []string{"ECHO", ""}},
		{name: "echo control bytes", args: []string{"ECHO", "\x01\x02\x7f"}, jsonWrong: false},
		{name: "get string", args: []string{"GET", "str"}},
		{name: "get empty", args: []string{"GET", "empty"}},
		{name: "get missing", args: []string{"GET", "nosuch"}},
		{name: "get binary", args: []string{"GET", "bin"}, jsonWrong: true, quotedJSONWrong: true},
		{name: "get utf8", args: []string{"GET", "utf8"}},
		{name: "get quote", args: []string{"GET", "quote"}, quotedJSONWrong: true},
		{name: "get int", args: []string{"GET", "int"}},
		{name: "strlen", args: []string{"STRLEN", "str"}},
		{name: "mget", args: []string{"MGET", "str", "nosuch", "int", "utf8"}},
		{name: "lrange", args: []string{"LRANGE", "list", "0", "-1"}},
		{name: "lrange twelve", args: []string{"LRANGE", "list12", "0", "-1"}},
		{name: "lrange empty", args: []string{"LRANGE", "nosuch", "0", "-1"}},
		{name: "sort", args: []string{"SORT", "list12", "DESC"}},
		{name: "hgetall", args: []string{"HGETALL", "hash"}},
		{name: "hgetall empty", args: []string{"HGETALL", "nosuch"}},
		{name: "smembers", args: []string{"SMEMBERS", "set"}},
		{name: "smembers empty", args: []string{"SMEMBERS", "nosuch"}},
		{name: "zrange withscores", args: []string{"ZRANGE", "zset", "0", "-1", "WITHSCORES"}, jsonWrong: true},
		{name: "zrange", args: []string{"ZRANGE", "zset", "0", "-1"}},
		{name: "zscore", args: []string{"ZSCORE", "zset", "two and a half"}},
		{name: "zscore inf", args: []string{"ZSCORE", "zset", "minf"}, jsonWrong: true},
		{name: "xrange", args: []string{"XRANGE", "stream", "-", "+"}},
		{name: "xlen", args: []string{"XLEN", "stream"}},
		{name: "type", args: []string{"TYPE", "list"}},
		{name: "exists", args: []string{"EXISTS", "str", "list", "nosuch"}},
		{name: "object encoding", args: []string{"OBJECT", "ENCODING", "list12"}},
		{name: "config get", args: []string{"CONFIG", "GET", "maxmemory-policy"}},
		{name: "command info", args: []string{"COMMAND", "INFO", "get", "nosuch"}},
		{name: "publish", args: []string{"PUBLISH", "nobody", "listens"}},
		{name: "lua nested", args: []string{"EVAL", nestedLua, "0"}, jsonWrong: true},
		{name: "lua deep", args: []string{"EVAL", "return {{{{'deep'}}}, {}, {1}}", "0"}},
		{name: "lua float", args: []string{"EVAL", "return 3.99", "0"}},
		{name: "lua status", args: []string{"EVAL", "return redis.status_reply('STATUS')", "0"}},
		{name: "lua keys and args", args: []string{"EVAL", "return {KEYS[1], ARGV[1], #ARGV}", "1", "k", "a", "b"}},
		{name: "lua error", args: []string{"EVAL", "return redis.error_reply('CUSTOM failure')", "0"}, jsonWrong: true},
		{name: "lua resp3 map", args: []string{"EVAL", "redis.setresp(3); return {map={a=1}}", "0"}},
		{name: "error unknown command", args: []string{"FOO", "bar"}, jsonWrong: true},
		{name: "error wrong type", args: []string{"LPUSH", "str", "x"}, jsonWrong: true},
		{name: "error arity", args: []string{"GET"}, jsonWrong: true},
		{name: "info keyspace always raw", args: []string{"INFO", "keyspace"}},
		{name: "cluster info always raw", args: []string{"CLUSTER", "INFO"}},
		{name: "latency doctor always raw", args: []string{"LATENCY", "DOCTOR"}},
	}
	for _, typ := range []string{"string", "integer", "double", "null", "array", "set", "map", "verbatim", "true", "false"} {
		cases = append(cases, replyCase{name: "debug protocol " + typ, args: []string{"DEBUG", "PROTOCOL", typ}})
	}
	cases = append(cases,
		replyCase{name: "debug protocol bignum", args: []string{"DEBUG", "PROTOCOL", "bignum"}, resp3Wrong: true},
		replyCase{name: "debug protocol attrib", args: []string{"DEBUG", "PROTOCOL", "attrib"}, resp3Wrong: true},
		replyCase{name: "debug protocol push", args: []string{"DEBUG", "PROTOCOL", "push"}, jsonWrongRESP2: true},
	)
	return cases
}

// outputFlags is a set of flags of the battery: an output mode or a protocol.
type outputFlags struct {
	name string
	args []string
	json bool // --json or --quoted-json, which imply RESP3 unless -2
}

// battery modes and protocols.
var (
	batteryModes = []outputFlags{
		{name: "default", args: nil},
		{name: "no-raw", args: []string{"--no-raw"}},
		{name: "raw", args: []string{"--raw"}},
		{name: "csv", args: []string{"--csv"}},
		{name: "json", args: []string{"--json"}, json: true},
		{name: "quoted-json", args: []string{"--quoted-json"}, json: true},
		{name: "delimiters", args: []string{"--raw", "-d", "|", "-D", "<>\n"}},
	}
	batteryProtocols = []outputFlags{
		{name: "proto-default", args: nil},
		{name: "resp2", args: []string{"-2"}},
		{name: "resp3", args: []string{"-3"}},
	}
)

// redisCLIWrong reports whether redis-cli's output for rc in this mode and protocol
// is wrong, so that rcli is checked for being right rather than equal.
func redisCLIWrong(rc replyCase, mode, proto outputFlags) bool {
	resp3 := proto.name == "resp3" || mode.json && proto.name != "resp2"
	return rc.resp3Wrong && resp3 ||
		mode.json && (rc.jsonWrong || rc.jsonWrongRESP2 && !resp3) ||
		mode.name == "quoted-json" && rc.quotedJSONWrong
}

// quoteArgs writes args as one line that redis-cli's and rcli's argument splitting
// read back exactly: each in double quotes, with \xHH for every byte that is not
// printable ASCII.
func quoteArgs(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for _, c := range []byte(a) {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c >= 0x20 && c < 0x7f:
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, "\\x%02x", c)
			}
		}
		b.WriteByte('"')
	}
	return b.String()
}

// TestCompareReplies runs the reply battery through both clients and compares stdout,
// stderr and exit code: every case as a one-shot command (one process each) in the
// default protocol, raw and standard; and every case in every output mode and
// protocol as stdin's lines (one process per mode and protocol, to keep the test
// fast), falling back to one-shot runs to name the culprit when a batch differs.
// Where redis-cli is wrong, rcli must succeed and print valid JSON in the JSON modes.
func TestCompareReplies(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	loadFixture(t, srv)
	port := strconv.Itoa(srv.Port)
	cases := replyCases()
	invocationFor := func(rc replyCase, proto, mode outputFlags) invocation {
		args := append([]string{"-p", port}, proto.args...)
		args = append(args, mode.args...)
		return invocation{args: append(args, rc.args...)}
	}
	oneShot, batched, checked := 0, 0, 0

	t.Run("one-shot", func(t *testing.T) {
		for _, rc := range cases {
			for _, mode := range batteryModes[:2] {
				proto := batteryProtocols[0]
				if redisCLIWrong(rc, mode, proto) {
					continue
				}
				t.Run(rc.name+"/"+mode.name, func(t *testing.T) {
					oneShot++
					compare(t, rcli, invocationFor(rc, proto, mode), nil)
				})
			}
		}
	})

	for _, proto := range batteryProtocols {
		for _, mode := range batteryModes {
			t.Run("lines/"+proto.name+"/"+mode.name, func(t *testing.T) {
				var lines strings.Builder
				var included []replyCase
				for _, rc := range cases {
					if redisCLIWrong(rc, mode, proto) {
						continue
					}
					included = append(included, rc)
					lines.WriteString(quoteArgs(rc.args) + "\n")
				}
				args := append([]string{"-p", port}, proto.args...)
				inv := invocation{args: append(args, mode.args...), stdin: []byte(lines.String())}
				want := runBinary(t, "redis-cli", inv)
				got := runBinary(t, rcli, inv)
				if assert.Equal(t, want, got) {
					batched += len(included)
					return
				}
				for _, rc := range included {
					t.Run(rc.name, func(t *testing.T) {
						compare(t, rcli, invocationFor(rc, proto, mode), nil)
					})
				}
			})
			t.Run("wrong/"+proto.name+"/"+mode.name, func(t *testing.T) {
				for _, rc := range cases {
					if !redisCLIWrong(rc, mode, proto) {
						continue
					}
					checked++
					got := runBinary(t, rcli, invocationFor(rc, proto, mode))
					assert.Equal(t, 0, got.Code, rc.name)
					assert.Empty(t, got.Stderr, rc.name)
					assert.NotEmpty(t, got.Stdout, rc.name)
					if mode.json {
						for _, line := range strings.Split(strings.TrimSuffix(got.Stdout, "\n"), "\n") {
							assert.True(t, json.Valid([]byte(line)), "%s: invalid JSON: %s", rc.name, line)
						}
					}
				}
			})
		}
	}
	t.Logf("compared with redis-cli byte for byte: %d one-shot cases and %d cases through stdin's lines (%d in all); %d more checked where redis-cli is wrong",
		oneShot, batched, oneShot+batched, checked)
}

func TestWhereRedisCLIIsWrong(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	loadFixture(t, srv)
	port := strconv.Itoa(srv.Port)
	tests := []struct {
		name       string
		args       []string
		want       string
		redisCLI   string // what redis-cli gets wrong: a substring of its stdout+stderr
		redisCLIRC int
	}{
		{name: "big number standard", args: []string{"-3", "--no-raw", "DEBUG", "PROTOCOL", "bignum"},
			want: "(big number) 1234567999999999999999999999999999999\n", redisCLI: "Unknown reply type: 13", redisCLIRC: 1},
		{name: "big number raw", args: []string{"-3", "DEBUG", "PROTOCOL", "bignum"},
			want: "1234567999999999999999999999999999999\n", redisCLI: "Unknown reply type: 13", redisCLIRC: 1},
		{name: "big number csv", args: []string{"-3", "--csv", "DEBUG", "PROTOCOL", "bignum"},
			want: "1234567999999999999999999999999999999\n", redisCLI: "Unknown reply type: 13", redisCLIRC: 1},
		{name: "big number json", args: []string{"--json", "DEBUG", "PROTOCOL", "bignum"},
			want: "\"1234567999999999999999999999999999999\"\n", redisCLI: "Unknown reply type: 13", redisCLIRC: 1},
		{name: "attribute is skipped", args: []string{"-3", "--no-raw", "DEBUG", "PROTOCOL", "attrib"},
			want: "\"Some real reply following the attribute\"\n", redisCLI: `Protocol error, got "|" as reply type byte`, redisCLIRC: 1},
		{name: "attribute shown with verbose", args: []string{"-3", "--no-raw", "--verbose", "DEBUG", "PROTOCOL", "attrib"},
			want:     "(attribute) 1# \"key-popularity\" => \n               1) \"key:123\"\n               2) (integer) 90\n\"Some real reply following the attribute\"\n",
			redisCLI: `Protocol error, got "|" as reply type byte`, redisCLIRC: 1},
		{name: "attribute json verbose", args: []string{"--json", "--verbose", "DEBUG", "PROTOCOL", "attrib"},
			want:     `{"attributes":{"key-popularity":["key:123",90]},"value":"Some real reply following the attribute"}` + "\n",
			redisCLI: `Protocol error, got "|" as reply type byte`, redisCLIRC: 1},
		{name: "json error", args: []string{"--json", "FOO"},
			want: `{"error":"ERR unknown command 'FOO', with args beginning with: "}` + "\n", redisCLI: `error:"ERR unknown command`},
		{name: "json error in an array", args: []string{"--json", "EVAL", "return {1, redis.error_reply('MYERR x')}", "0"},
			want: `[1,{"error":"MYERR x"}]` + "\n", redisCLI: `[1,error:"MYERR x"]`},
		{name: "quoted json with a quote", args: []string{"--quoted-json", "GET", "quote"},
			want: `"say \\\"hi\\\" \\\\o/"` + "\n", redisCLI: `"say \\"hi\\" \\\\o/"`},
		{name: "json of bytes that are not utf8", args: []string{"--json", "ECHO", "a\xffb"},
			want: `"a\u00ffb"` + "\n", redisCLI: "a\xffb"},
		{name: "json of inf", args: []string{"--json", "ZSCORE", "zset", "minf"},
			want: `"-inf"` + "\n", redisCLI: "-inf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-p", port}, tt.args...)
			got := runBinary(t, rcli, invocation{args: args})
			assert.Equal(t, result{Stdout: tt.want, Code: 0}, got)
			theirs := runBinary(t, "redis-cli", invocation{args: args})
			assert.Contains(t, theirs.Stdout+theirs.Stderr, tt.redisCLI, "redis-cli is expected to be wrong here")
			assert.Equal(t, tt.redisCLIRC, theirs.Code)
		})
	}
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return strconv.Itoa(port)
}

func TestCompareFlows(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	loadFixture(t, srv)
	port := strconv.Itoa(srv.Port)
	p := []string{"-p", port}
	script := filepath.Join(t.TempDir(), "script.lua")
	require.NoError(t, os.WriteFile(script, []byte("return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}"), 0o600))
	reset := func(cmds ...[]string) func() {
		return func() {
			for _, c := range cmds {
				do(t, srv, c...)
			}
		}
	}
	with := func(args ...string) []string { return append(append([]string{}, p...), args...) }
	tests := []struct {
		name  string
		args  []string
		stdin string
		env   map[string]string
		setup func()
		// stored, when set, is a key whose value must equal stdin after each run.
		stored string
	}{
		{name: "repeat with interval", args: with("-r", "3", "-i", "0.01", "INCR", "counter"), setup: reset([]string{"DEL", "counter"})},
		{name: "repeat with delimiters", args: with("-r", "2", "-d", ",", "--raw", "LRANGE", "list", "0", "2")},
		{name: "repeat zero times", args: with("-r", "0", "PING")},
		{name: "x binary", args: with("-x", "SET", "xkey"), stdin: binaryValue + "\n", stored: "xkey", setup: reset([]string{"DEL", "xkey"})},
		{name: "x keeps the newline", args: with("-x", "ECHO"), stdin: "foo\n"},
		{name: "x empty stdin", args: with("-x", "ECHO"), stdin: ""},
		{name: "X tag", args: with("-X", "TAG", "SET", "xtag", "TAG"), stdin: binaryValue, stored: "xtag", setup: reset([]string{"DEL", "xtag"})},
		{name: "X tag missing", args: with("-X", "TAG", "SET", "k", "v"), stdin: "data"},
		{name: "e with an error", args: with("-e", "FOO")},
		{name: "e with an error standard", args: with("-e", "--no-raw", "FOO")},
		{name: "e with an error json", args: with("-e", "--json", "FOO")},
		{name: "e with an error repeated", args: with("-e", "-r", "3", "FOO")},
		{name: "e without an error", args: with("-e", "PING")},
		{name: "error reply exits 0", args: with("FOO")},
		{name: "error reply standard", args: with("--no-raw", "FOO")},
		{name: "connection refused", args: []string{"-p", freePort(t), "PING"}},
		{name: "connection refused socket", args: []string{"-s", "/nonexistent/redis.sock", "PING"}},
		{name: "unknown option", args: with("--nope", "PING")},
		{name: "missing option value", args: with("-n")},
		{name: "c and s", args: with("-c", "-s", "/tmp/x", "PING")},
		{name: "2 and 3", args: with("-2", "-3", "PING")},
		{name: "x and X", args: with("-x", "-X", "t", "PING")},
		{name: "bad show-pushes", args: with("--show-pushes", "maybe", "PING")},
		{name: "pushes shown", args: with("-3", "--show-pushes", "y", "DEBUG", "PROTOCOL", "push")},
		{name: "pushes shown standard", args: with("-3", "--no-raw", "--show-pushes", "y", "DEBUG", "PROTOCOL", "push")},
		{name: "pushes shown json", args: with("--json", "--show-pushes", "y", "DEBUG", "PROTOCOL", "push")},
		{name: "pushes hidden", args: with("-3", "--no-raw", "--show-pushes", "n", "DEBUG", "PROTOCOL", "push")},
		{name: "FAKETTY standard with pushes", args: with("-3", "DEBUG", "PROTOCOL", "push"), env: map[string]string{"FAKETTY": "1"}},
		{name: "FAKETTY nested", args: with("EVAL", "return {1,{2,{3,'x'}},'y',{}}", "0"), env: map[string]string{"FAKETTY": "1"}},
		{name: "always raw with reply delimiter", args: with("-D", "XX", "INFO", "keyspace")},
		{name: "always raw error", args: with("--no-raw", "CLIENT", "LIST", "ID", "abc")},
		{name: "db flag", args: with("-n", "5", "GET", "dbkey")},
		{name: "url", args: []string{"-u", "redis://127.0.0.1:" + port, "GET", "str"}},
		{name: "url with db", args: []string{"-u", "redis://127.0.0.1:" + port + "/5", "GET", "dbkey"}},
		{name: "url bad scheme", args: []string{"-u", "http://127.0.0.1:" + port, "PING"}},
		{name: "quoted input", args: with("--quoted-input", "SET", `"q\x00k"`, `"a\x00\x01b"`), setup: reset([]string{"DEL", "q\x00k"})},
		{name: "quoted input read back", args: with("--quoted-input", "--no-raw", "GET", `"q\x00k"`), setup: reset([]string{"SET", "q\x00k", "a\x00\x01b"})},
		{name: "quoted input single quotes", args: with("--quoted-input", "ECHO", `'it\'s'`)},
		{name: "eval", args: with("--eval", script, "k1", "k2", ",", "a1", "a2")},
		{name: "eval standard", args: with("--no-raw", "--eval", script, "k1", ",", "a1")},
		{name: "eval no keys", args: with("--eval", script)},
		{name: "eval comma only", args: with("--eval", script, ",", "a1")},
		{name: "eval missing file", args: with("--eval", "/nonexistent/script.lua")},
		{name: "stdin lines", stdin: "SET a 1\nGET a\n3 INCR a\nFOO\n\nGET a\n", args: p, setup: reset([]string{"DEL", "a"})},
		{name: "stdin lines standard", stdin: "SET a 1\nGET a\n2 INCR a\nFOO\nHGETALL hash\n", args: with("--no-raw"), setup: reset([]string{"DEL", "a"})},
		{name: "stdin lines quoting", stdin: "SET \"q k\" \"a\\x00b\"\nGET \"q k\"\nECHO 'single'\n", args: p},
		{name: "stdin lines quit", stdin: "PING\nquit\nPING\n", args: p},
		{name: "stdin lines crlf and no final newline", stdin: "PING\r\nECHO last", args: p},
		{name: "stdin lines json", stdin: "GET str\nLRANGE list 0 -1\n", args: with("--json")},
		{name: "stdin lines csv", stdin: "GET str\nLRANGE list 0 -1\n", args: with("--csv")},
		{name: "stdin lines e is not an error", stdin: "PING\n", args: with("-e")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := invocation{args: tt.args, stdin: []byte(tt.stdin), env: tt.env}
			if tt.stored == "" {
				compare(t, rcli, inv, tt.setup)
				return
			}
			for _, bin := range []string{"redis-cli", rcli} {
				if tt.setup != nil {
					tt.setup()
				}
				r := runBinary(t, bin, inv)
				assert.Equal(t, result{Stdout: "OK\n"}, r, "%s", filepath.Base(bin))
				v := do(t, srv, "GET", tt.stored)
				assert.Equal(t, tt.stdin, string(v.Str), "%s stored", filepath.Base(bin))
			}
		})
	}
}

func TestCompareACL(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartACLServer(t)
	port := strconv.Itoa(srv.Port)
	p := []string{"-p", port}
	with := func(args ...string) []string { return append(append([]string{}, p...), args...) }
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		stdin string
	}{
		{name: "password warns", args: with("-a", srv.DefaultPassword, "PING")},
		{name: "askpass from a pipe", args: with("--askpass", "PING"), stdin: srv.DefaultPassword + "\n"},
		{name: "askpass wins over the flag", args: with("-a", "wrong", "--askpass", "PING"), stdin: srv.DefaultPassword + "\n"},
		{name: "askpass then stdin lines", args: with("--askpass"), stdin: srv.DefaultPassword + "\nPING\nECHO hi\n"},
		{name: "pass alias", args: with("--pass", srv.DefaultPassword, "PING")},
		{name: "no auth warning", args: with("--no-auth-warning", "-a", srv.DefaultPassword, "PING")},
		{name: "REDISCLI_AUTH", args: with("PING"), env: map[string]string{"REDISCLI_AUTH": srv.DefaultPassword}},
		{name: "flag wins over env", args: with("-a", srv.DefaultPassword, "PING"), env: map[string]string{"REDISCLI_AUTH": "wrong"}},
		{name: "user and pass", args: with("--user", srv.AdminUser, "--pass", srv.AdminPassword, "ACL", "WHOAMI")},
		{name: "read only user", args: with("--user", srv.ReadUser, "--pass", srv.ReadPassword, "SET", "k", "v")},
		{name: "read only user reads", args: with("--user", srv.ReadUser, "--pass", srv.ReadPassword, "--no-raw", "GET", "nosuch")},
		{name: "no password", args: with("GET", "k")},
		{name: "no password resp3", args: with("-3", "GET", "k")},
		{name: "no password resp3 standard", args: with("-3", "--no-raw", "GET", "k")},
		{name: "url with user", args: []string{"-u", "redis://" + srv.AdminUser + ":" + srv.AdminPassword + "@127.0.0.1:" + port, "ACL", "WHOAMI"}},
		{name: "url with password only", args: []string{"-u", "redis://" + srv.DefaultPassword + "@127.0.0.1:" + port, "ACL", "WHOAMI"}},
		{name: "url and resp3", args: []string{"-3", "-u", "redis://" + srv.AdminUser + ":" + srv.AdminPassword + "@127.0.0.1:" + port, "--no-raw", "ACL", "WHOAMI"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compare(t, rcli, invocation{args: tt.args, env: tt.env, stdin: []byte(tt.stdin)}, nil)
		})
	}
}

func TestAuthFailures(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartACLServer(t)
	port := strconv.Itoa(srv.Port)
	// redis-cli prints "AUTH failed" and then runs the command anyway, as whoever the
	// connection happens to be; rcli stops.
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		stderr string
	}{
		{name: "wrong password", args: []string{"-p", port, "--no-auth-warning", "-a", "wrong", "PING"},
			stderr: "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n"},
		{name: "wrong user", args: []string{"-p", port, "--no-auth-warning", "--user", "nobody", "-a", "x", "PING"},
			stderr: "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n"},
		{name: "wrong password from RCLI_AUTH", args: []string{"-p", port, "PING"}, env: map[string]string{"RCLI_AUTH": "wrong"},
			stderr: "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n"},
		{name: "resp3 wrong password", args: []string{"-p", port, "-3", "--no-auth-warning", "-a", "wrong", "PING"},
			stderr: "AUTH failed: WRONGPASS invalid username-password pair or user is disabled.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runBinary(t, rcli, invocation{args: tt.args, env: tt.env})
			assert.Equal(t, result{Stderr: tt.stderr, Code: 1}, got)
		})
	}
	t.Run("RCLI_AUTH", func(t *testing.T) {
		got := runBinary(t, rcli, invocation{args: []string{"-p", port, "PING"}, env: map[string]string{"RCLI_AUTH": srv.DefaultPassword}})
		assert.Equal(t, result{Stdout: "PONG\n"}, got)
	})
}

func TestSelectFailureStops(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	// redis-cli warns and runs the command in db 0, where "FLUSHDB" would do harm.
	got := runBinary(t, rcli, invocation{args: []string{"-p", strconv.Itoa(srv.Port), "-n", "99", "PING"}})
	assert.Equal(t, result{Stderr: "SELECT 99 failed: ERR DB index is out of range\n", Code: 1}, got)
}

func TestPasswordNeverPrinted(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartACLServer(t)
	port := strconv.Itoa(srv.Port)
	const secret = "s3cr3t-Pa55"
	for _, args := range [][]string{
		{"-p", port, "--verbose", "-a", secret, "PING"},
		{"-p", port, "--verbose", "--user", "alice", "--pass", secret, "PING"},
		{"-p", port, "--verbose", "-u", "redis://alice:" + secret + "@127.0.0.1:" + port, "PING"},
		{"--verbose", "-u", "redis://alice:" + secret + "@127.0.0.1:" + freePort(t), "PING"},
		{"--verbose", "-u", "redis://alice:" + secret + "%zz@127.0.0.1:" + port, "PING"},
		{"--verbose", "-u", "redis://alice:" + secret + "@127.0.0.1:99999", "PING"},
		{"-p", port, "--verbose", "-a", secret, "--tls", "--cacert", "/nonexistent", "PING"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			got := runBinary(t, rcli, invocation{args: args})
			assert.Equal(t, 1, got.Code)
			assert.NotContains(t, got.Stdout+got.Stderr, secret)
		})
	}
}

func TestCompareTLS(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartTLSServer(t)
	port := strconv.Itoa(srv.Port)
	tlsArgs := []string{"-p", port, "--tls", "--cacert", srv.CAFile, "--cert", srv.CertFile, "--key", srv.KeyFile}
	with := func(args ...string) []string { return append(append([]string{}, tlsArgs...), args...) }
	tests := []struct {
		name string
		args []string
	}{
		{name: "ping", args: with("PING")},
		{name: "sni", args: with("--sni", "localhost", "PING")},
		{name: "resp3", args: with("-3", "--no-raw", "HGETALL", "nosuch")},
		{name: "ciphers", args: with("--tls-ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256", "PING")},
		{name: "rediss url", args: []string{"-u", "rediss://127.0.0.1:" + port, "--cacert", srv.CAFile, "--cert", srv.CertFile, "--key", srv.KeyFile, "PING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compare(t, rcli, invocation{args: tt.args}, nil)
		})
	}
	t.Run("insecure warns", func(t *testing.T) {
		args := []string{"-p", port, "--tls", "--insecure", "--cert", srv.CertFile, "--key", srv.KeyFile, "PING"}
		theirs := runBinary(t, "redis-cli", invocation{args: args})
		got := runBinary(t, rcli, invocation{args: args})
		assert.Equal(t, theirs.Stdout, got.Stdout)
		assert.Equal(t, theirs.Code, got.Code)
		assert.Equal(t, "Warning: --insecure skips TLS certificate verification: the server's identity is not checked.\n", got.Stderr)
	})
	t.Run("cacertdir without hashed names", func(t *testing.T) {
		// OpenSSL needs c_rehash links in the directory; rcli reads every file.
		args := []string{"-p", port, "--tls", "--cacertdir", filepath.Dir(srv.CAFile), "--cert", srv.CertFile, "--key", srv.KeyFile, "PING"}
		assert.Equal(t, result{Stdout: "PONG\n"}, runBinary(t, rcli, invocation{args: args}))
	})
	t.Run("unknown authority", func(t *testing.T) {
		args := []string{"-p", port, "--tls", "--cacert", srv.OtherCAFile, "--cert", srv.CertFile, "--key", srv.KeyFile, "PING"}
		got := runBinary(t, rcli, invocation{args: args})
		assert.Equal(t, 1, got.Code)
		assert.Empty(t, got.Stdout)
		assert.True(t, strings.HasPrefix(got.Stderr, "Could not connect to Redis at 127.0.0.1:"+port+": TLS handshake failed: "), got.Stderr)
	})
	t.Run("plain text to a TLS port", func(t *testing.T) {
		got := runBinary(t, rcli, invocation{args: []string{"-p", port, "--read-timeout", "2", "PING"}})
		assert.Equal(t, 1, got.Code)
		assert.Empty(t, got.Stdout)
		assert.NotEmpty(t, got.Stderr)
	})
}

func TestStdinLinesDeviations(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	port := strconv.Itoa(srv.Port)
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  result
	}{
		{name: "complaints go to stderr", args: []string{"-p", port}, stdin: "\"unbalanced\n0 PING\n:set nope\nrestart\nPING\n",
			want: result{Stdout: "PONG\n", Stderr: "Invalid argument(s)\nInvalid rcli repeat command option value.\nunknown rcli preference 'nope'\nUse 'restart' only in Lua debugging mode.\n"}},
		{name: "e stops at the first error", args: []string{"-p", port, "-e"}, stdin: "PING\nFOO\nPING\n",
			want: result{Stdout: "PONG\n", Stderr: "ERR unknown command 'FOO', with args beginning with: \n", Code: 1}},
		{name: "connection refused exits 1", args: []string{"-p", freePort(t)}, stdin: "PING\n"},
		{name: "help is local", args: []string{"-p", port}, stdin: "help get\n",
			want: result{Stdout: "\n  GET key\n  summary: Get the value of a key\n  since: 1.0.0\n  group: string\n\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runBinary(t, rcli, invocation{args: tt.args, stdin: []byte(tt.stdin)})
			if tt.want == (result{}) {
				assert.Equal(t, 1, got.Code)
				assert.Contains(t, got.Stderr, "Could not connect to Redis at")
				return
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHelp(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	port := strconv.Itoa(srv.Port)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "command", args: []string{"help", "set"}, want: "\n  SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]\n  summary: Set the string value of a key\n  since: 1.0.0\n  group: string\n\n"},
		{name: "subcommand", args: []string{"HELP", "client", "LIST"}, want: "\n  CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]\n  summary: Get the list of client connections\n  since: 2.4.0\n  group: connection\n\n"},
		{name: "question mark", args: []string{"?", "getdel"}, want: "\n  GETDEL key\n  summary: Get the value of a key and delete the key\n  since: 6.2.0\n  group: string\n\n"},
		{name: "unknown", args: []string{"help", "nosuch"}, want: "\n"},
		{name: "unknown group", args: []string{"help", "@nosuch"}, want: "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runBinary(t, rcli, invocation{args: append([]string{"-p", port}, tt.args...)})
			assert.Equal(t, result{Stdout: tt.want}, got)
		})
	}
	t.Run("group", func(t *testing.T) {
		got := runBinary(t, rcli, invocation{args: []string{"-p", port, "help", "@string"}})
		require.Equal(t, 0, got.Code)
		theirs := runBinary(t, "redis-cli", invocation{args: []string{"-p", port, "help", "@string"}})
		// The same commands as redis-cli's own table, in the same order.
		assert.Equal(t, strings.Count(theirs.Stdout, "summary:"), strings.Count(got.Stdout, "summary:"))
		assert.Contains(t, got.Stdout, "\n  APPEND key value\n  summary: Append a value to a key\n  since: 2.0.0\n")
		assert.NotContains(t, got.Stdout, "group:")
	})
	t.Run("same arguments as redis-cli", func(t *testing.T) {
		// redis-cli 7.0 prints its built-in table; rcli builds the same from COMMAND DOCS.
		for _, cmd := range []string{"set", "zadd", "xadd", "client", "migrate", "georadius", "sort", "bitfield"} {
			theirs := runBinary(t, "redis-cli", invocation{args: []string{"-p", port, "help", cmd}})
			got := runBinary(t, rcli, invocation{args: []string{"-p", port, "help", cmd}})
			plain := strings.NewReplacer("\r\n", "\n", "\x1b[1m", "", "\x1b[0m", "", "\x1b[90m", "", "\x1b[33m", "").Replace(theirs.Stdout)
			plain = strings.ReplaceAll(plain, " \n", "\n") // rcli leaves out the space before no arguments
			assert.Equal(t, plain, got.Stdout, "help %s", cmd)
		}
	})
}

func TestSubscribeStreamsUntilInterrupted(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{name: "raw", args: nil, want: "subscribe\nch\n1\nmessage\nch\nhello\n"},
		{name: "standard", args: []string{"--no-raw"}, want: "Reading messages... (press Ctrl-C to quit)\n1) \"subscribe\"\n2) \"ch\"\n3) (integer) 1\n1) \"message\"\n2) \"ch\"\n3) \"hello\"\n"},
		{name: "resp3", args: []string{"-3", "--no-raw"}, want: "Reading messages... (press Ctrl-C to quit)\n1) \"subscribe\"\n2) \"ch\"\n3) (integer) 1\n1) \"message\"\n2) \"ch\"\n3) \"hello\"\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-p", strconv.Itoa(srv.Port)}, tt.args...)
			cmd := exec.Command(rcli, append(args, "SUBSCRIBE", "ch")...)
			cmd.Env = cleanEnv(nil)
			var stdout syncBuffer
			cmd.Stdout = &stdout
			require.NoError(t, cmd.Start())
			defer func() { _ = cmd.Process.Kill() }()
			require.Eventually(t, func() bool {
				v := do(t, srv, "PUBLISH", "ch", "hello")
				return v.Int == 1
			}, 10*time.Second, 20*time.Millisecond)
			require.Eventually(t, func() bool { return stdout.String() == tt.want }, 10*time.Second, 10*time.Millisecond, "got %q", stdout.String())
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			err := cmd.Wait()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			assert.Equal(t, exitInterrupted, ee.ExitCode())
		})
	}
}

func TestRepeatForeverStopsOnInterrupt(t *testing.T) {
	rcli := requireTools(t)
	srv := redistest.StartServer(t)
	cmd := exec.Command(rcli, "-p", strconv.Itoa(srv.Port), "-r", "-1", "-i", "0.01", "INCR", "forever")
	cmd.Env = cleanEnv(nil)
	var stdout syncBuffer
	cmd.Stdout = &stdout
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()
	require.Eventually(t, func() bool { return strings.Count(stdout.String(), "\n") >= 5 }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitInterrupted, ee.ExitCode())
	assert.True(t, strings.HasPrefix(stdout.String(), "1\n2\n3\n4\n5\n"), stdout.String())
}

func TestShutdown(t *testing.T) {
	rcli := requireTools(t)
	for _, bin := range []string{"redis-cli", rcli} {
		srv := redistest.StartServer(t)
		got := runBinary(t, bin, invocation{args: []string{"-p", strconv.Itoa(srv.Port), "SHUTDOWN", "NOSAVE"}})
		assert.Equal(t, result{}, got, filepath.Base(bin))
	}
}

func TestHostileServerProcess(t *testing.T) {
	rcli := requireTools(t)
	port := hostileServer(t, bytes.Repeat([]byte("*1\r\n"), 10000), true)
	start := time.Now()
	got := runBinary(t, rcli, invocation{args: []string{"-p", strconv.Itoa(port), "PING"}})
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, 1, got.Code)
	assert.Empty(t, got.Stdout)
	assert.True(t, strings.HasPrefix(got.Stderr, "Error: Protocol error from 127.0.0.1:"), got.Stderr)
}

// syncBuffer is a buffer safe for a writer process and a polling test.
type syncBuffer = redistest.Buffer
