package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rcli-dev/rcli/internal/resp"
)

// got is one command or rejection as the tests compare it.
type got struct {
	Line, Offset int64
	Args         []string // nil for a rejection
	Reject       string   // a fragment of the rejection's message
	EndLine      int64    // for rejections
	Fault        int64    // for rejections
}

func readAllInput(t *testing.T, r io.Reader, opts InputOptions) []got {
	t.Helper()
	in := NewInput(r, opts)
	var out []got
	for {
		cmd, err := in.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		g := got{Line: cmd.Line, Offset: cmd.Offset}
		if cmd.Err != nil {
			g.Reject = cmd.Err.Msg
			g.EndLine = cmd.Err.EndLine
			g.Fault = cmd.Err.Fault
			assert.Nil(t, cmd.Args)
			assert.Zero(t, cmd.Format)
		} else {
			for _, a := range cmd.Args {
				g.Args = append(g.Args, string(a))
			}
			if cmd.Raw != nil {
				assert.Equal(t, string(resp.AppendCommand(nil, cmd.Args...)), string(cmd.Raw), "Raw is the canonical encoding")
			}
		}
		out = append(out, g)
	}
}

// readers gives the same bytes through several chunkings, so that no result depends on
// how the input arrives.
func readers(s string) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(s) },
		"one-byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
}

func frame(args ...string) string { return string(resp.AppendArgs(nil, args...)) }

func TestInputCommands(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  []got
	}{
		{"inline-lf", "SET a 1\nGET a\n", []got{
			{Line: 1, Offset: 0, Args: []string{"SET", "a", "1"}},
			{Line: 2, Offset: 8, Args: []string{"GET", "a"}},
		}},
		{"inline-crlf", "SET a 1\r\nGET a\r\n", []got{
			{Line: 1, Offset: 0, Args: []string{"SET", "a", "1"}},
			{Line: 2, Offset: 9, Args: []string{"GET", "a"}},
		}},
		{"no-final-newline", "SET a 1\nGET a", []got{
			{Line: 1, Offset: 0, Args: []string{"SET", "a", "1"}},
			{Line: 2, Offset: 8, Args: []string{"GET", "a"}},
		}},
		{"blank-lines", "\n\r\n   \t\nPING\n\n\nECHO x\n  \n", []got{
			{Line: 4, Offset: 8, Args: []string{"PING"}},
			{Line: 7, Offset: 15, Args: []string{"ECHO", "x"}},
		}},
		{"quoting", `SET "a b" 'c d' "\x41\n" ""` + "\n", []got{
			{Line: 1, Args: []string{"SET", "a b", "c d", "A\n", ""}},
		}},
		{"invalid-utf8-and-nul", "SET k \xff\xfe\x00z\n", []got{
			{Line: 1, Args: []string{"SET", "k", "\xff\xfe\x00z"}},
		}},
		{"resp", frame("SET", "k", "v\r\nw") + frame("PING"), []got{
			{Line: 1, Offset: 0, Args: []string{"SET", "k", "v\r\nw"}},
			{Line: 9, Offset: 30, Args: []string{"PING"}},
		}},
		{"resp-lf-only", "*2\n$3\nGET\n$1\nk\n*1\n$4\nPING\n", []got{
			{Line: 1, Args: []string{"GET", "k"}},
			{Line: 6, Offset: 15, Args: []string{"PING"}},
		}},
		{"resp-and-inline-mixed", frame("SET", "a", "1") + "GET a\r\n" + frame("DEL", "a"), []got{
			{Line: 1, Args: []string{"SET", "a", "1"}},
			{Line: 8, Offset: 27, Args: []string{"GET", "a"}},
			{Line: 9, Offset: 34, Args: []string{"DEL", "a"}},
		}},
		{"empty-frames-skipped", "*0\r\n*-1\r\nPING\r\n", []got{
			{Line: 3, Offset: 9, Args: []string{"PING"}},
		}},
		{"empty-argument", frame("SET", "k", ""), []got{
			{Line: 1, Args: []string{"SET", "k", ""}},
		}},
		{"bom", utf8BOM + "PING\n", []got{
			{Line: 1, Offset: 3, Args: []string{"PING"}},
		}},
		{"empty", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for how, r := range readers(tc.input) {
				t.Run(how, func(t *testing.T) {
					out := readAllInput(t, r(), InputOptions{})
					require.Len(t, out, len(tc.want), "%+v", out)
					for i, w := range tc.want {
						assert.Equal(t, w.Args, out[i].Args, "command %d", i)
						assert.Equal(t, w.Line, out[i].Line, "line of command %d", i)
						if w.Offset != 0 {
							assert.Equal(t, w.Offset, out[i].Offset, "offset of command %d", i)
						}
					}
				})
			}
		})
	}
}

func TestInputRejects(t *testing.T) {
	ping := frame("PING")
	cases := []struct {
		name  string
		input string
		opts  InputOptions
		want  []got // Reject set for rejections
	}{
		{"unbalanced-quote", "SET a 1\nSET b \"2\nSET c 3\n", InputOptions{}, []got{
			{Line: 1, Args: []string{"SET", "a", "1"}},
			{Line: 2, Offset: 8, Reject: "unbalanced double quote", EndLine: 2, Fault: 14},
			{Line: 3, Args: []string{"SET", "c", "3"}},
		}},
		{"quote-not-followed-by-space", "SET a \"x\"y\nPING\n", InputOptions{}, []got{
			{Line: 1, Reject: "closing quote", EndLine: 1},
			{Line: 2, Args: []string{"PING"}},
		}},
		{"control-byte", "\x01junk\nPING\n", InputOptions{}, []got{
			{Line: 1, Reject: "not a command", EndLine: 1},
			{Line: 2, Args: []string{"PING"}},
		}},
		{"bulk-length-minus-2", "*2\r\n$3\r\nGET\r\n$-2\r\nk\r\n" + ping, InputOptions{}, []got{
			{Line: 1, Reject: "bad '$' length -2", EndLine: 5, Fault: 13},
			{Line: 6, Offset: 21, Args: []string{"PING"}},
		}},
		{"bad-count", "*x\r\n$4\r\nPING\r\n" + ping, InputOptions{}, []got{
			{Line: 1, Reject: "bad '*' length", EndLine: 3},
			{Line: 4, Args: []string{"PING"}},
		}},
		{"one-bulk-of-two", "*2\r\n$3\r\nGET\r\n" + ping + ping, InputOptions{}, []got{
			{Line: 1, Reject: "expected '$', got '*'", EndLine: 3, Fault: 13},
			{Line: 4, Offset: 13, Args: []string{"PING"}},
			{Line: 7, Offset: 27, Args: []string{"PING"}},
		}},
		{"missing-crlf", "*1\r\n$4\r\nPINGX\r\n" + ping, InputOptions{}, []got{
			{Line: 1, Reject: "not followed by CRLF", EndLine: 3, Fault: 12},
			{Line: 4, Args: []string{"PING"}},
		}},
		{"length-swallows-next-frame", "*2\r\n$3\r\nGET\r\n$10\r\nabc\r\n*1\r\n$4\r\nPING\r\n", InputOptions{}, []got{
			{Line: 1, Reject: "not followed by CRLF", EndLine: 5},
			{Line: 6, Args: []string{"PING"}},
		}},
		{"garbage-between-frames", ping + "$3\r\nfoo\r\n:1\r\n" + ping, InputOptions{}, []got{
			{Line: 1, Args: []string{"PING"}},
			{Line: 4, Offset: 14, Reject: "RESP data outside a frame", EndLine: 6, Fault: 14},
			{Line: 7, Offset: 27, Args: []string{"PING"}},
		}},
		{"truncated-at-eof", ping + "*3\r\n$3\r\nSET\r\n$1\r\nk", InputOptions{}, []got{
			{Line: 1, Args: []string{"PING"}},
			{Line: 4, Offset: 14, Reject: "truncated", EndLine: 8, Fault: 32},
		}},
		{"truncated-header", "*3", InputOptions{}, []got{
			{Line: 1, Reject: "truncated", EndLine: 1},
		}},
		{"bulk-over-limit", "*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n" + ping, InputOptions{MaxBulkLen: 10}, []got{
			{Line: 1, Reject: "an argument of 11 bytes exceeds the limit of 10", EndLine: 5, Fault: 14},
			{Line: 6, Args: []string{"PING"}},
		}},
		{"inline-over-limit", "ECHO hello-world\nECHO hi\n", InputOptions{MaxBulkLen: 10}, []got{
			{Line: 1, Reject: "an argument of 11 bytes exceeds the limit of 10", EndLine: 1},
			{Line: 2, Args: []string{"ECHO", "hi"}},
		}},
		{"too-many-args", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\nPING\n", InputOptions{MaxArgs: 3}, []got{
			{Line: 1, Reject: "4 arguments exceed the limit of 3", EndLine: 10},
		}},
		{"huge-declared-length-no-payload", "*2\r\n$4\r\nECHO\r\n$536870913\r\n" + ping, InputOptions{}, []got{
			{Line: 1, Reject: "536870913 bytes exceeds the limit of 536870912", EndLine: 4},
			{Line: 5, Args: []string{"PING"}},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for how, r := range readers(tc.input) {
				t.Run(how, func(t *testing.T) {
					out := readAllInput(t, r(), tc.opts)
					require.Len(t, out, len(tc.want), "%+v", out)
					for i, w := range tc.want {
						g := out[i]
						assert.Equal(t, w.Line, g.Line, "line of item %d", i)
						if w.Offset != 0 {
							assert.Equal(t, w.Offset, g.Offset, "offset of item %d", i)
						}
						if w.Reject == "" {
							assert.Empty(t, g.Reject, "item %d", i)
							assert.Equal(t, w.Args, g.Args, "item %d", i)
							continue
						}
						assert.Contains(t, g.Reject, w.Reject, "item %d", i)
						assert.Equal(t, w.EndLine, g.EndLine, "end line of item %d", i)
						if w.Fault != 0 {
							assert.Equal(t, w.Fault, g.Fault, "fault offset of item %d", i)
						}
					}
				})
			}
		})
	}
}

// TestInputT14 is reliability test T14 on the parser: 1,000 lines with an unbalanced
// quote on line 501, in CRLF and LF, with and without a final newline, with blank lines
// and invalid UTF-8: 999 commands and 1 rejection at line 501, the same for every
// variant.
func TestInputT14(t *testing.T) {
	build := func(eol string, blank bool) string {
		var b strings.Builder
		for i := 1; i <= 1000; i++ {
			if blank && i%100 == 0 {
				b.WriteString(eol)
			}
			if i == 501 {
				fmt.Fprintf(&b, "SET k:%d \"unbalanced%s", i, eol)
				continue
			}
			fmt.Fprintf(&b, "SET k:%d \"v\\xff%d\xfe\"%s", i, i, eol)
		}
		return b.String()
	}
	for _, eol := range []string{"\n", "\r\n"} {
		for _, blank := range []bool{false, true} {
			for _, final := range []bool{true, false} {
				name := fmt.Sprintf("eol=%q/blank=%v/final-newline=%v", eol, blank, final)
				t.Run(name, func(t *testing.T) {
					input := build(eol, blank)
					if !final {
						input = strings.TrimSuffix(input, eol)
					}
					out := readAllInput(t, strings.NewReader(input), InputOptions{})
					require.Len(t, out, 1000)
					rejected := 0
					for _, g := range out {
						if g.Reject != "" {
							rejected++
							assert.Contains(t, g.Reject, "unbalanced")
							if blank {
								assert.Equal(t, int64(506), g.Line)
							} else {
								assert.Equal(t, int64(501), g.Line)
							}
							continue
						}
						require.Len(t, g.Args, 3)
						var n int
						_, err := fmt.Sscanf(g.Args[1], "k:%d", &n)
						require.NoError(t, err)
						assert.Equal(t, fmt.Sprintf("v\xff%d\xfe", n), g.Args[2])
					}
					assert.Equal(t, 1, rejected)
				})
			}
		}
	}
}

func TestInputLargeArgumentBoundedBuffer(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 3<<20)
	input := frame("SET", "big", string(big)) + "PING\n"
	in := NewInput(iotest.HalfReader(strings.NewReader(input)), InputOptions{})
	cmd, err := in.Next()
	require.NoError(t, err)
	require.Nil(t, cmd.Err)
	assert.Len(t, cmd.Args[2], len(big))
	assert.NotNil(t, cmd.Raw)
	cmd, err = in.Next()
	require.NoError(t, err)
	assert.Equal(t, "PING", string(cmd.Args[0]))
	_, err = in.Next()
	assert.ErrorIs(t, err, io.EOF)
	assert.LessOrEqual(t, len(in.buf), inputBufSize, "the grown buffer is dropped once empty")
}

func TestInputReadError(t *testing.T) {
	boom := errors.New("boom")
	in := NewInput(io.MultiReader(strings.NewReader("PING\n"), iotest.ErrReader(boom)), InputOptions{})
	cmd, err := in.Next()
	require.NoError(t, err)
	assert.Equal(t, "PING", string(cmd.Args[0]))
	_, err = in.Next()
	assert.ErrorIs(t, err, boom)
}

func FuzzInput(f *testing.F) {
	f.Add([]byte("SET a 1\nGET a\r\n"))
	f.Add([]byte(frame("SET", "k", "v") + "*2\r\n$-2\r\n" + frame("PING")))
	f.Add([]byte("*3\r\n$3\r\nSET\r\n$1\r\nk"))
	f.Add([]byte("\"unbalanced\n$3\r\nfoo\r\n*1\n$4\nPING\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := NewInput(bytes.NewReader(data), InputOptions{MaxBulkLen: 1 << 16})
		var lastOff int64 = -1
		for i := 0; ; i++ {
			cmd, err := in.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
			if cmd.Offset <= lastOff {
				t.Fatalf("offset went back: %d after %d", cmd.Offset, lastOff)
			}
			lastOff = cmd.Offset
			if cmd.Err == nil && len(cmd.Args) == 0 {
				t.Fatal("a command without arguments")
			}
			if i > len(data)+1 {
				t.Fatal("more commands than bytes")
			}
		}
		if in.Offset() != int64(len(data)) {
			t.Fatalf("consumed %d of %d bytes", in.Offset(), len(data))
		}
	})
}
